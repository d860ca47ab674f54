// One contract, every store: the local directory and S3 (against a real s3rver process) must
// behave the same for everything the shipper, the jobs and the tag store rely on.
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { link, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { StoreError, StoreIntegrityError, StoreKeyError, StoreUnavailableError } from '../../src/errors.ts';
import { compareKeys } from '../../src/store/keys.ts';
import { LocalStore } from '../../src/store/local.ts';
import { openStore } from '../../src/store/open.ts';
import { S3Store } from '../../src/store/s3.ts';
import type { ObjectInfo, ObjectStore } from '../../src/store/types.ts';
import { s3TestOptions, startS3Server } from '../helpers/s3server.ts';

export interface StoreFixture {
  /** A store over the shared location; pageSize forces internal paging where the store pages. */
  make(options?: { pageSize?: number }): ObjectStore;
  cleanup(): Promise<void>;
}

async function collect(iterable: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const info of iterable) out.push(info);
  return out;
}

const md5 = (data: Buffer) => createHash('md5').update(data).digest('base64');
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

export interface StoreQuirks {
  /**
   * s3rver walks its directories and lists `a/b` before `a-c`, so its pages can repeat or skip
   * keys where a key and a "directory" share a stem followed by a character below '/'. Real S3
   * lists in byte order; tagspend's own key layouts never hit the difference.
   */
  listsInDirectoryOrder?: boolean;
}

export function storeContract(name: string, setup: () => Promise<StoreFixture>, quirks: StoreQuirks = {}): void {
  describe(`${name} store contract`, () => {
    let fixture: StoreFixture;
    let store: ObjectStore;
    let work: string;
    // Each test writes under its own prefix so tests never see each other's keys.
    const fresh = () => `t-${randomUUID()}/`;

    before(async () => {
      fixture = await setup();
      store = fixture.make();
      work = await mkdtemp(join(tmpdir(), 'tagspend-store-work-'));
    });
    after(async () => {
      await store?.close();
      await fixture?.cleanup();
      if (work) await rm(work, { recursive: true, force: true });
    });

    test('put then get returns the same bytes, and head describes the stored object', async () => {
      const key = `${fresh()}control/blocklist.json`;
      const body = JSON.stringify({ generated_at: '2026-01-02T03:04:05Z', tags: { 'app:x': { blocked: true } } });
      const put = await store.put(key, body, { contentType: 'application/json' });
      assert.equal(put.key, key);
      assert.equal(put.size, Buffer.byteLength(body));

      const got = await store.get(key);
      assert.ok(got && 'body' in got);
      assert.equal(got.body.toString('utf8'), body);
      assert.equal(got.etag, put.etag);

      const head = await store.head(key);
      assert.ok(head);
      assert.deepEqual({ key: head.key, size: head.size, etag: head.etag }, { key, size: put.size, etag: put.etag });
      assert.ok(head.lastModified instanceof Date && !Number.isNaN(head.lastModified.getTime()));
    });

    test('missing keys read as null or false, and deleting one is a no-op', async () => {
      const key = `${fresh()}nothing/here.json`;
      assert.equal(await store.get(key), null);
      assert.equal(await store.get(key, { ifNoneMatch: 'abc' }), null);
      assert.equal(await store.head(key), null);
      assert.equal(await store.getToFile(key, join(work, 'never')), false);
      await store.delete(key);
      assert.deepEqual(await readdir(work).then((names) => names.includes('never')), false);
    });

    test('get with the current etag answers notModified; after a rewrite it returns the new body', async () => {
      const key = `${fresh()}control/blocklist.json`;
      const first = await store.put(key, '{"v":1}');
      assert.deepEqual(await store.get(key, { ifNoneMatch: first.etag }), { notModified: true, etag: first.etag });

      const second = await store.put(key, '{"v":2,"more":true}');
      assert.notEqual(second.etag, first.etag);
      const got = await store.get(key, { ifNoneMatch: first.etag });
      assert.ok(got && 'body' in got);
      assert.equal(got.body.toString(), '{"v":2,"more":true}');
      assert.equal(got.etag, second.etag);
    });

    test('list yields every key under a prefix in byte order, across internal pages', async () => {
      const base = fresh();
      const names = ['a/b', 'a/c/d', 'a0', 'b', 'dt=2026-01-01/hour=00/x.gz', 'dt=2026-01-01/hour=01/y.gz',
        'dt=2026-01-02/hour=00/z.gz', 'z/ü.json', 'z/~.json'];
      // 'a-c' sorts before 'a/b' ('-' < '/') although directory 'a' comes first on disk.
      if (!quirks.listsInDirectoryOrder) names.push('a-c');
      for (const name of names) await store.put(base + name, name);
      await store.put(`${base.slice(0, -1)}-sibling/not-mine`, 'x');

      const paged = fixture.make({ pageSize: 3 });
      try {
        const listed = await collect(paged.list(base));
        const expected = names.map((n) => base + n).sort(compareKeys);
        assert.deepEqual(listed.map((i) => i.key), expected);
        assert.deepEqual(listed.map((i) => i.size), expected.map((k) => Buffer.byteLength(k.slice(base.length))));

        // A prefix need not end at a '/': it matches the start of keys, as S3 does.
        assert.deepEqual((await collect(paged.list(`${base}dt=2026-01-01`))).map((i) => i.key),
          [`${base}dt=2026-01-01/hour=00/x.gz`, `${base}dt=2026-01-01/hour=01/y.gz`]);
        assert.deepEqual(await collect(paged.list(`${base}nope/`)), []);
      } finally {
        await paged.close();
      }
    });

    test('list with startAfter skips every key up to and including it', async () => {
      const base = fresh();
      const keys = ['spend/dt=2026-01-01/hour=00/a.gz', 'spend/dt=2026-01-01/hour=05/b.gz', 'spend/dt=2026-01-02/hour=00/c.gz',
        'spend/dt=2026-01-02/hour=07/d.gz', 'spend/dt=2026-01-03/hour=00/e.gz'].map((k) => base + k);
      for (const key of keys) await store.put(key, 'x');
      const paged = fixture.make({ pageSize: 2 });
      try {
        const after = async (startAfter: string) => (await collect(paged.list(`${base}spend/`, { startAfter }))).map((i) => i.key);
        assert.deepEqual(await after(keys[1]!), keys.slice(2));
        // A startAfter that is not itself a key, and one that names a whole partition.
        assert.deepEqual(await after(`${base}spend/dt=2026-01-02/hour=01`), keys.slice(3));
        assert.deepEqual(await after(`${base}spend/dt=2026-01-02/`), keys.slice(2));
        assert.deepEqual(await after(`${base}spend/dt=2026-01-02/~`), keys.slice(4));
        assert.deepEqual(await after(keys[4]!), []);
        assert.deepEqual(await after(''), keys);
      } finally {
        await paged.close();
      }
    });

    test('putFile stores a small file with its MD5 checked, and getToFile brings it back', async () => {
      const key = `${fresh()}spend/dt=2026-01-01/hour=00/i-20260101T000000Z-1.ndjson.gz`;
      const data = randomBytes(70_000);
      const src = join(work, 'small.bin');
      await writeFile(src, data);
      const info = await store.putFile(key, src, { contentMd5: md5(data), contentType: 'application/gzip' });
      assert.equal(info.key, key);
      assert.equal(info.size, data.length);
      assert.equal((await store.head(key))?.etag, info.etag);

      const dest = join(work, 'small.out');
      assert.equal(await store.getToFile(key, dest), true);
      assert.equal(sha256(await readFile(dest)), sha256(data));
    });

    test('getToFile with mayLink brings back the bytes, a missing key is false, and removing the file keeps the object', async () => {
      const key = `${fresh()}spend/dt=2026-01-01/hour=00/i-20260101T000000Z-2.ndjson.gz`;
      const data = randomBytes(50_000);
      await store.put(key, data);
      const dest = join(work, 'linked.out');
      assert.equal(await store.getToFile(key, dest, { mayLink: true }), true);
      assert.equal(sha256(await readFile(dest)), sha256(data));
      await rm(dest);
      const again = await store.get(key);
      assert.ok(again && 'body' in again);
      assert.equal(sha256(again.body), sha256(data));
      assert.equal(await store.getToFile(`${fresh()}gone.ndjson.gz`, join(work, 'gone'), { mayLink: true }), false);
    });

    test('getToFile replaces a file left at the destination instead of writing through it (a link to another file)', async () => {
      const key = `${fresh()}spend/dt=2026-01-01/hour=00/i-20260101T000000Z-3.ndjson.gz`;
      await store.put(key, 'the object');
      for (const mayLink of [false, true]) {
        const other = join(work, `other-${mayLink}`);
        const dest = join(work, `left-over-${mayLink}`);
        await writeFile(other, 'another file');
        await link(other, dest); // what a crashed run leaves behind
        assert.equal(await store.getToFile(key, dest, { mayLink }), true);
        assert.equal(await readFile(dest, 'utf8'), 'the object');
        assert.equal(await readFile(other, 'utf8'), 'another file');
      }
    });

    test('putFile of a file over 16 MiB stores every byte', async () => {
      const key = `${fresh()}spend/big.ndjson.gz`;
      const data = Buffer.concat([randomBytes(1024 * 1024), Buffer.alloc(16 * 1024 * 1024 + 12_345, 7)]);
      const src = join(work, 'big.bin');
      await writeFile(src, data);
      const info = await store.putFile(key, src, { contentMd5: md5(data) });
      assert.equal(info.size, data.length);
      assert.equal((await store.head(key))?.size, data.length);

      const dest = join(work, 'big.out');
      assert.equal(await store.getToFile(key, dest), true);
      assert.equal(sha256(await readFile(dest)), sha256(data));
      await rm(src);
      await rm(dest);
    });

    test('a body that does not match its content MD5 is refused and not stored', async () => {
      const key = `${fresh()}control/tags/bad.json`;
      await assert.rejects(store.put(key, 'actual bytes', { contentMd5: md5(Buffer.from('other bytes')) }), StoreIntegrityError);
      assert.equal(await store.head(key), null);
    });

    test('delete removes the object from get, head and list', async () => {
      const base = fresh();
      await store.put(`${base}keep.json`, '1');
      await store.put(`${base}drop.json`, '2');
      await store.delete(`${base}drop.json`);
      assert.equal(await store.get(`${base}drop.json`), null);
      assert.equal(await store.head(`${base}drop.json`), null);
      assert.deepEqual((await collect(store.list(base))).map((i) => i.key), [`${base}keep.json`]);
    });

    test('url-encoded tag names round-trip as keys, byte for byte', async () => {
      const base = fresh();
      const keys = ['control/tags/app%3Ax.json', 'control/tags/team%2Fml%20ops.json', 'control/tags/caf%C3%A9.json'].map((k) => base + k);
      for (const key of keys) await store.put(key, key);
      assert.deepEqual((await collect(store.list(`${base}control/tags/`))).map((i) => i.key), [...keys].sort(compareKeys));
      for (const key of keys) {
        const got = await store.get(key);
        assert.ok(got && 'body' in got);
        assert.equal(got.body.toString(), key);
      }
    });

    test('keys that climb out of the root or are not relative paths are rejected', async () => {
      for (const key of ['../escape.json', 'a/../../escape.json', 'a/..', '/abs.json', 'a//b', './a', '', 'a\\..\\b']) {
        await assert.rejects(store.put(key, 'x'), (err: unknown) => err instanceof StoreKeyError && err.code === 'STORE_INVALID_KEY', key);
        await assert.rejects(store.get(key), StoreKeyError, key);
        await assert.rejects(store.head(key), StoreKeyError, key);
        await assert.rejects(store.delete(key), StoreKeyError, key);
      }
      await assert.rejects(collect(store.list('../')), StoreKeyError);
      assert.ok(new StoreKeyError('x') instanceof StoreError);
    });
  });
}

storeContract('local', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tagspend-store-local-'));
  return {
    make: () => new LocalStore(`file://${dir}`),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

storeContract('s3', async () => {
  const server = await startS3Server();
  return {
    // Under a prefix, so the store's key mapping is exercised too.
    make: (options = {}) => new S3Store(`s3://${server.bucket}/tagspend/store`, { ...s3TestOptions(server.endpoint), ...options }),
    cleanup: () => server.close(),
  };
}, { listsInDirectoryOrder: true });

describe('openStore', () => {
  test('picks the implementation from the URL scheme', () => {
    const local = openStore('file:///var/lib/tagspend/store');
    assert.ok(local instanceof LocalStore);
    assert.equal(local.url, 'file:///var/lib/tagspend/store');
    const s3 = openStore('s3://bucket/some/prefix/', s3TestOptions('http://127.0.0.1:9'));
    assert.ok(s3 instanceof S3Store);
    assert.equal(s3.url, 's3://bucket/some/prefix');
    assert.equal((s3 as S3Store).prefix, 'some/prefix/');
    assert.throws(() => openStore('ftp://host/x'), /unsupported scheme/);
  });
});

describe('s3 store outage', () => {
  test('a put while the server is down fails as STORE_UNAVAILABLE, and succeeds once it is back', async () => {
    const server = await startS3Server();
    const store = new S3Store(`s3://${server.bucket}/outage`, s3TestOptions(server.endpoint));
    try {
      await store.put('before.json', 'kept');
      const port = server.port;
      await server.stop();
      await assert.rejects(store.put('during.json', 'x'), (err: unknown) => {
        assert.ok(err instanceof StoreUnavailableError, String(err));
        assert.equal(err.code, 'STORE_UNAVAILABLE');
        assert.ok(err.cause !== undefined);
        return true;
      });
      await assert.rejects(collect(store.list('')), StoreUnavailableError);

      await server.start();
      assert.equal(server.port, port);
      const info = await store.put('during.json', 'retried');
      assert.equal(info.size, 'retried'.length);
      const kept = await store.get('before.json');
      assert.ok(kept && 'body' in kept);
      assert.equal(kept.body.toString(), 'kept');
      assert.deepEqual((await collect(store.list(''))).map((i) => i.key), ['before.json', 'during.json']);
    } finally {
      await store.close();
      await server.close();
    }
  });
});

describe('s3 store error mapping', () => {
  // A bare HTTP server that answers every request with one S3 error: cheap to start, exact to control.
  async function withErrorServer(status: number, code: string, run: (store: S3Store) => Promise<void>) {
    const server = createServer((req, res) => {
      req.resume();
      res.writeHead(status, { 'content-type': 'application/xml' });
      res.end(req.method === 'HEAD' ? undefined : `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected</Message></Error>`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const store = new S3Store('s3://bucket/p', { ...s3TestOptions(`http://127.0.0.1:${port}`), credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    try {
      await run(store);
    } finally {
      await store.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }

  test('a server answering 500 fails every operation as STORE_UNAVAILABLE, keeping the cause', async () => {
    await withErrorServer(500, 'InternalError', async (store) => {
      const ops: [string, () => Promise<unknown>][] = [
        ['put', () => store.put('k', 'x')],
        ['get', () => store.get('k')],
        ['head', () => store.head('k')],
        ['list', () => collect(store.list(''))],
        ['delete', () => store.delete('k')],
      ];
      for (const [name, op] of ops) {
        await assert.rejects(op(), (err: unknown) => {
          assert.ok(err instanceof StoreUnavailableError, `${name}: ${String(err)}`);
          assert.equal(err.code, 'STORE_UNAVAILABLE');
          assert.ok(err.cause instanceof Error);
          return true;
        });
      }
    });
  });

  test('a refusal such as 403 AccessDenied is a STORE_ERROR, not a retryable outage', async () => {
    await withErrorServer(403, 'AccessDenied', async (store) => {
      await assert.rejects(store.put('k', 'x'), (err: unknown) => {
        assert.ok(err instanceof StoreError && !(err instanceof StoreUnavailableError), String(err));
        assert.equal(err.code, 'STORE_ERROR');
        assert.match(err.message, /AccessDenied/);
        return true;
      });
    });
  });
});

describe('local store', () => {
  test('never lists or leaves its temp files, and refuses keys in its temp area', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tagspend-store-local-'));
    try {
      const store = new LocalStore(dir);
      assert.equal(store.url, `file://${dir}`);
      await store.put('a.json', '1');
      await writeFile(join(dir, '.tmp', 'stale.part'), 'half a write');
      assert.deepEqual((await collect(store.list(''))).map((i) => i.key), ['a.json']);
      assert.deepEqual(await readdir(join(dir, '.tmp')), ['stale.part']);
      await assert.rejects(store.put('.tmp/x', '1'), StoreKeyError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('getToFile with mayLink hard-links the object (no copy) and keeps the version it linked', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tagspend-store-local-'));
    try {
      const store = new LocalStore(join(dir, 'store'));
      const key = 'spend/dt=2026-01-01/hour=00/i-20260101T000000Z-1.ndjson.gz';
      await store.put(key, 'version 1');
      const linked = join(dir, 'linked');
      assert.equal(await store.getToFile(key, linked, { mayLink: true }), true);
      const [a, b] = await Promise.all([stat(linked), stat(join(dir, 'store', key))]);
      assert.equal(a.ino, b.ino, 'a hard link, not a copy');
      await store.put(key, 'version 2');
      assert.equal(await readFile(linked, 'utf8'), 'version 1');

      const copied = join(dir, 'copied');
      assert.equal(await store.getToFile(key, copied), true);
      assert.notEqual((await stat(copied)).ino, (await stat(join(dir, 'store', key))).ino, 'without mayLink: a copy');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  // A hard link cannot cross filesystems: /dev/shm (tmpfs) against the temp dir, where they differ.
  const otherFs = existsSync('/dev/shm') && statSync('/dev/shm').dev !== statSync(tmpdir()).dev;
  test('getToFile with mayLink copies the object when it cannot be linked (another filesystem)', { skip: otherFs ? false : 'needs /dev/shm on another filesystem than the temp dir' }, async () => {
    const dir = await mkdtemp(join('/dev/shm', 'tagspend-store-local-'));
    const work = await mkdtemp(join(tmpdir(), 'tagspend-store-work-'));
    try {
      const store = new LocalStore(dir);
      const key = 'spend/dt=2026-01-01/hour=00/i-20260101T000000Z-1.ndjson.gz';
      await store.put(key, 'the bytes');
      const dest = join(work, 'copied');
      assert.equal(await store.getToFile(key, dest, { mayLink: true }), true);
      assert.equal(await readFile(dest, 'utf8'), 'the bytes');
    } finally {
      await rm(dir, { recursive: true, force: true });
      await rm(work, { recursive: true, force: true });
    }
  });

  // S3 makes overwrites atomic itself; s3rver does not (its readers see ECONNRESET mid-rewrite),
  // so this is the local store's own rename guarantee, tested here only.
  test('readers racing concurrent rewrites of one key only ever see a complete version', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tagspend-store-local-'));
    const store = new LocalStore(dir);
    const key = 'control/blocklist.json';
    try {
      const bodies = Array.from({ length: 8 }, (_, i) => JSON.stringify({ version: i, pad: String(i).repeat(20_000) }));
      await store.put(key, bodies[0]!);
      const seen = new Set<string>();
      let writing = true;
      const reader = async () => {
        while (writing) {
          const got = await store.get(key);
          assert.ok(got && 'body' in got);
          seen.add(got.body.toString());
        }
      };
      const readers = [reader(), reader()];
      await Promise.all(bodies.map((b) => store.put(key, b)));
      writing = false;
      await Promise.all(readers);
      assert.ok(seen.size >= 1);
      for (const body of seen) assert.ok(bodies.includes(body), 'a read returned a partial or mixed body');
      const last = await store.get(key);
      assert.ok(last && 'body' in last && bodies.includes(last.body.toString()));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
