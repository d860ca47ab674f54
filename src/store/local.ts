// The embedded object store: a plain directory. Writes land in `<root>/.tmp/` first, are fsynced,
// then renamed into place, so a reader (or a crash) never sees a partial object.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, type Stats } from 'node:fs';
import { copyFile, link, mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { StoreError, StoreKeyError, StorePreconditionFailedError, StoreUnavailableError } from '../errors.ts';
import { checkMd5, md5Base64, md5OfFile } from './digest.ts';
import { assertValidKey, assertValidPrefix, compareKeys } from './keys.ts';
import type { GetResult, GetToFileOptions, ObjectInfo, ObjectStore, PutOptions } from './types.ts';

const TMP_DIR = '.tmp';
// A name too long for this filesystem cannot name an existing object either.
const MISSING = new Set(['ENOENT', 'ENOTDIR', 'ENAMETOOLONG']);
/** A conditional write waits this long at most for another writer of the same key. */
const LOCK_WAIT_MS = 10_000;
/** A key lock older than this was left by a writer that died inside its few-millisecond hold. */
const LOCK_STALE_MS = 30_000;
// Failures that may clear up by themselves (space freed, descriptors released): callers retry.
const TRANSIENT = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EMFILE', 'ENFILE', 'EAGAIN', 'EBUSY']);

export class LocalStore implements ObjectStore {
  readonly url: string;
  readonly root: string;
  readonly #tmp: string;

  /** `location` is a `file://` URL or a directory path; the directory is created on first write. */
  constructor(location: string) {
    this.root = location.startsWith('file:') ? fileURLToPath(location) : resolve(location);
    this.url = pathToFileURL(this.root).href;
    this.#tmp = join(this.root, TMP_DIR);
  }

  async put(key: string, body: Buffer | string, options: PutOptions = {}): Promise<ObjectInfo> {
    const data = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const target = this.#path(key);
    if (options.contentMd5 !== undefined) {
      checkMd5(key, options.contentMd5, md5Base64(data));
    }
    return this.#commit(
      key,
      target,
      async (tmp) => {
        const fh = await open(tmp, 'wx');
        try {
          await fh.writeFile(data);
          await fh.sync();
          return await fh.stat();
        } finally {
          await fh.close();
        }
      },
      options.ifNoneMatch !== undefined || options.ifMatch !== undefined ? options : undefined,
    );
  }

  async putFile(key: string, path: string, options: PutOptions = {}): Promise<ObjectInfo> {
    const target = this.#path(key);
    return this.#commit(key, target, async (tmp) => {
      await copyFile(path, tmp);
      // Hash the copy, not the source: what matters is the bytes the store now holds.
      if (options.contentMd5 !== undefined) checkMd5(key, options.contentMd5, await md5OfFile(tmp));
      const fh = await open(tmp, 'r+');
      try {
        await fh.sync();
        return await fh.stat();
      } finally {
        await fh.close();
      }
    });
  }

  async get(key: string, options: { ifNoneMatch?: string } = {}): Promise<GetResult | null> {
    const path = this.#path(key);
    const fh = await openIfExists(path, `get ${key}`);
    if (fh === null) return null;
    try {
      // Stat and read through one descriptor: a concurrent rename cannot mix two versions.
      const st = await fh.stat();
      if (!st.isFile()) return null;
      const etag = etagOf(st);
      if (options.ifNoneMatch === etag) return { notModified: true, etag };
      return { body: await fh.readFile(), etag };
    } catch (err) {
      throw storeFailure(err, `get ${key}`);
    } finally {
      await fh.close();
    }
  }

  async getToFile(key: string, path: string, options: GetToFileOptions = {}): Promise<boolean> {
    const source = this.#path(key);
    // Writing through a leftover link (a crashed run's) would overwrite the object it points to.
    await rm(path, { force: true });
    // Objects are never modified in place (a put renames a new file over the key), so a link
    // keeps the version it was made from. Across filesystems, or where the kernel refuses to
    // link a file we do not own (fs.protected_hardlinks), the object is copied as before.
    if (options.mayLink && (await linkFile(source, path))) return true;
    const fh = await openIfExists(source, `get ${key}`);
    if (fh === null) return false;
    try {
      if (!(await fh.stat()).isFile()) return false;
      await pipeline(fh.createReadStream({ autoClose: false, start: 0 }), createWriteStream(path));
      return true;
    } catch (err) {
      await rm(path, { force: true }); // never leave a truncated copy behind
      throw storeFailure(err, `get ${key} to ${path}`);
    } finally {
      await fh.close();
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const path = this.#path(key);
    try {
      const st = await stat(path);
      return st.isFile() ? infoOf(key, st) : null;
    } catch (err) {
      if (MISSING.has(errCode(err))) return null;
      throw storeFailure(err, `head ${key}`);
    }
  }

  async *list(prefix: string, options: { startAfter?: string } = {}): AsyncIterable<ObjectInfo> {
    assertValidPrefix(prefix);
    // Start at the deepest directory the prefix names in full; the rest of it filters names.
    const base = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    yield* this.#walk(base, prefix, options.startAfter);
  }

  async delete(key: string): Promise<void> {
    const path = this.#path(key);
    try {
      await unlink(path);
    } catch (err) {
      // A missing key (or a "directory", which S3 would call a common prefix) is not an object.
      if (MISSING.has(errCode(err)) || errCode(err) === 'EISDIR') return;
      throw storeFailure(err, `delete ${key}`);
    }
    // Empty directories are left behind on purpose: removing them would race a concurrent put
    // that has just created the same directory and is about to rename into it.
  }

  async close(): Promise<void> {}

  #path(key: string): string {
    assertValidKey(key);
    if (key === TMP_DIR || key.startsWith(`${TMP_DIR}/`)) {
      throw new StoreKeyError(`object keys under ${TMP_DIR}/ are reserved by the local store: ${key}`);
    }
    return join(this.root, key);
  }

  /**
   * Fill a temp file (the callback fsyncs it and returns its stat), then rename it into place.
   * With a condition, the check of the current object and the rename happen under the key's
   * lock, so two conditional writers of one key cannot both succeed.
   */
  async #commit(key: string, target: string, fill: (tmp: string) => Promise<Stats>, condition?: PutOptions): Promise<ObjectInfo> {
    const tmp = join(this.#tmp, `${randomBytes(12).toString('hex')}.part`);
    let st: Stats;
    try {
      await mkdir(this.#tmp, { recursive: true });
      st = await fill(tmp);
      await mkdir(dirname(target), { recursive: true });
      if (condition) {
        await this.#withKeyLock(key, async () => {
          const current = await statIfExists(target);
          if (condition.ifNoneMatch === '*' && current) throw new StorePreconditionFailedError(`put ${key}: the object exists`);
          if (condition.ifMatch !== undefined && (!current || etagOf(current) !== condition.ifMatch)) {
            throw new StorePreconditionFailedError(`put ${key}: the object ${current ? 'changed' : 'is gone'} (ETag ${condition.ifMatch} expected)`);
          }
          await rename(tmp, target);
        });
      } else {
        await rename(tmp, target);
      }
    } catch (err) {
      await rm(tmp, { force: true });
      throw storeFailure(err, `put ${key}`);
    }
    await fsyncDir(dirname(target));
    // rename keeps the inode and mtime, so the temp file's stat describes the stored object.
    return infoOf(key, st);
  }

  /**
   * Runs `fn` holding the key's lock: a file created exclusively (O_EXCL) under .tmp/locks/,
   * removed afterwards. A lock older than LOCK_STALE_MS is taken over (its writer died).
   */
  async #withKeyLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const dir = join(this.#tmp, 'locks');
    await mkdir(dir, { recursive: true });
    const path = join(dir, `${createHash('sha1').update(key).digest('hex')}.lock`);
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (let pause = 1; ; pause = Math.min(pause * 2, 50)) {
      try {
        await (await open(path, 'wx')).close();
        break;
      } catch (err) {
        if (errCode(err) !== 'EEXIST') throw err;
      }
      await breakStaleLock(path);
      if (Date.now() > deadline) throw new StoreUnavailableError(`put ${key}: another writer holds the key for over ${LOCK_WAIT_MS} ms`);
      await delay(pause * (0.5 + Math.random()));
    }
    try {
      return await fn();
    } finally {
      await rm(path, { force: true });
    }
  }

  async *#walk(dirKey: string, prefix: string, startAfter: string | undefined): AsyncGenerator<ObjectInfo> {
    let entries;
    try {
      entries = await readdir(join(this.root, dirKey), { withFileTypes: true });
    } catch (err) {
      if (MISSING.has(errCode(err))) return;
      throw storeFailure(err, `list ${dirKey || '/'}`);
    }
    // A directory sorts as `name/`, which puts its keys exactly where S3 would list them.
    const children: { key: string; dir: boolean }[] = [];
    for (const entry of entries) {
      if (dirKey === '' && entry.name === TMP_DIR) continue;
      if (entry.isDirectory()) children.push({ key: `${dirKey}${entry.name}/`, dir: true });
      else if (entry.isFile()) children.push({ key: dirKey + entry.name, dir: false });
    }
    children.sort((a, b) => compareKeys(a.key, b.key));

    for (const child of children) {
      if (child.dir) {
        if (!child.key.startsWith(prefix) && !prefix.startsWith(child.key)) continue;
        // Every key inside sorts before startAfter: skip the whole subtree unread.
        if (startAfter !== undefined && !startAfter.startsWith(child.key) && compareKeys(startAfter, child.key) > 0) continue;
        yield* this.#walk(child.key, prefix, startAfter);
        continue;
      }
      if (!child.key.startsWith(prefix)) continue;
      if (startAfter !== undefined && compareKeys(child.key, startAfter) <= 0) continue;
      let st: Stats;
      try {
        st = await stat(join(this.root, child.key));
      } catch (err) {
        if (MISSING.has(errCode(err))) continue; // deleted while we were listing
        throw storeFailure(err, `list ${child.key}`);
      }
      yield infoOf(child.key, st);
    }
  }
}

/** A cheap version tag that changes on every rewrite: rename always brings a new inode. */
function etagOf(st: Stats): string {
  return createHash('sha1').update(`${st.size}:${st.mtimeMs}:${st.ino}`).digest('hex').slice(0, 32);
}

function infoOf(key: string, st: Stats): ObjectInfo {
  return { key, size: st.size, etag: etagOf(st), lastModified: st.mtime };
}

async function statIfExists(path: string): Promise<Stats | null> {
  try {
    return await stat(path);
  } catch (err) {
    if (MISSING.has(errCode(err))) return null;
    throw err;
  }
}

/**
 * Removes a lock file older than LOCK_STALE_MS. It is moved aside first and checked to be the
 * file judged stale; a fresh lock taken meanwhile by another waiter is put back.
 */
async function breakStaleLock(path: string): Promise<void> {
  const st = await statIfExists(path);
  if (!st || Date.now() - st.mtimeMs < LOCK_STALE_MS) return;
  const aside = `${path}.${randomBytes(6).toString('hex')}.stale`;
  try {
    await rename(path, aside);
  } catch {
    return; // someone else broke it first
  }
  const moved = await statIfExists(aside);
  if (moved && moved.ino !== st.ino) await link(aside, path).catch(() => {});
  await rm(aside, { force: true });
}

/** Hard-links `source` (a regular file) at `path`; false, leaving nothing behind, when it cannot. */
async function linkFile(source: string, path: string): Promise<boolean> {
  try {
    await link(source, path);
  } catch {
    return false;
  }
  const st = await stat(path).catch(() => null);
  if (st?.isFile()) return true;
  await rm(path, { force: true });
  return false;
}

async function openIfExists(path: string, what: string) {
  try {
    return await open(path, 'r');
  } catch (err) {
    if (MISSING.has(errCode(err))) return null;
    throw storeFailure(err, what);
  }
}

/** Makes the rename itself durable, not just the file's bytes. */
async function fsyncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Some platforms and filesystems cannot fsync a directory; the data itself is synced.
  }
}

function errCode(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
}

function storeFailure(err: unknown, what: string): StoreError {
  if (err instanceof StoreError) return err;
  const message = `${what}: ${err instanceof Error ? err.message : String(err)}`;
  return TRANSIENT.has(errCode(err)) ? new StoreUnavailableError(message, { cause: err }) : new StoreError(message, { cause: err });
}
