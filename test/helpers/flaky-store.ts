// Object store wrappers that fail on demand (shipper and budget tests): the next `failPuts` uploads
// fail (or all while `down`), small writes fail while `putsDown`, and `headSizeSkew` heads report
// a wrong size.
import { StoreUnavailableError } from '../../src/errors.ts';
import type { ObjectInfo, ObjectStore, PutOptions } from '../../src/store/types.ts';

export class FlakyStore implements ObjectStore {
  failPuts = 0;
  down = false;
  headSizeSkew = 0;
  /** Small-object writes (put) fail while set; uploads (putFile) follow `down`/`failPuts`. */
  putsDown = false;
  readonly putKeys: string[] = [];
  constructor(readonly inner: ObjectStore) {}
  get url() {
    return this.inner.url;
  }
  async putFile(key: string, path: string, options?: PutOptions): Promise<ObjectInfo> {
    if (this.down || this.failPuts > 0) {
      this.failPuts = Math.max(0, this.failPuts - 1);
      throw new StoreUnavailableError(`put ${key}: connect ECONNREFUSED`);
    }
    this.putKeys.push(key);
    return this.inner.putFile(key, path, options);
  }
  async put(key: string, body: Buffer | string, options?: PutOptions): Promise<ObjectInfo> {
    if (this.putsDown) throw new StoreUnavailableError(`put ${key}: connect ECONNREFUSED`);
    return this.inner.put(key, body, options);
  }
  get(key: string) {
    return this.inner.get(key);
  }
  getToFile(key: string, path: string) {
    return this.inner.getToFile(key, path);
  }
  async head(key: string) {
    const info = await this.inner.head(key);
    if (info && this.headSizeSkew > 0) {
      this.headSizeSkew -= 1;
      return { ...info, size: info.size + 1 };
    }
    return info;
  }
  list(prefix: string, options?: { startAfter?: string }) {
    return this.inner.list(prefix, options);
  }
  delete(key: string) {
    return this.inner.delete(key);
  }
  close() {
    return this.inner.close();
  }
}

/**
 * A store whose `get`, after hangNext(), reads what the key holds then and answers only when
 * released: a server that announced more bytes than it sent. Everything else goes to `inner`.
 */
export function hangingStore(inner: ObjectStore): { store: ObjectStore; hangNext(): void; release(): void } {
  let hang = false;
  let release: (() => void) | null = null;
  const store: ObjectStore = {
    url: inner.url,
    put: (key, body, options) => inner.put(key, body, options),
    putFile: (key, path, options) => inner.putFile(key, path, options),
    async get(key, options) {
      if (!hang) return inner.get(key, options);
      hang = false;
      const then = await inner.get(key, options);
      await new Promise<void>((r) => (release = r));
      return then;
    },
    getToFile: (key, path, options) => inner.getToFile(key, path, options),
    head: (key) => inner.head(key),
    list: (prefix, options) => inner.list(prefix, options),
    delete: (key) => inner.delete(key),
    close: () => inner.close(),
  };
  return { store, hangNext: () => void (hang = true), release: () => release?.() };
}
