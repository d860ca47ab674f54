// An object store wrapper that fails on demand, for shipper tests: the next `failPuts` uploads
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
