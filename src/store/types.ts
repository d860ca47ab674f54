// The object store: where shipped spend segments and control files (tag definitions,
// block-list) live. Two implementations: a local directory (file://) and S3 (s3://).
// Keys are always '/'-separated, relative to the store root (bucket prefix or directory).

export interface ObjectInfo {
  key: string;
  size: number;
  /** Opaque version tag: S3 ETag, or a size+mtime digest for the local store. */
  etag: string;
  lastModified: Date;
}

export interface PutOptions {
  contentType?: string;
  /** Base64 MD5 of the body: the store verifies the bytes it received. */
  contentMd5?: string;
  /**
   * Conditional writes (put only): `ifNoneMatch: '*'` writes only if no object has the key,
   * `ifMatch` only if the object's current ETag is this one; otherwise the put throws
   * StorePreconditionFailedError and nothing changes. S3 sends If-None-Match / If-Match (AWS S3
   * enforces them; some S3-compatible servers ignore them); the local store takes a lock per key.
   */
  ifNoneMatch?: '*';
  ifMatch?: string;
}

export interface GetToFileOptions {
  /** The file will never be written: it may share the stored object's bytes (a hard link). */
  mayLink?: boolean;
}

export type GetResult = { body: Buffer; etag: string } | { notModified: true; etag: string };

export interface ObjectStore {
  /** Human-readable location for logs, e.g. `s3://bucket/prefix` or `file:///var/lib/tagspend/store`. */
  readonly url: string;
  /** Write an object atomically from a local file (readers never see a partial object). */
  putFile(key: string, path: string, options?: PutOptions): Promise<ObjectInfo>;
  /** Write a small object atomically from memory. */
  put(key: string, body: Buffer | string, options?: PutOptions): Promise<ObjectInfo>;
  /** Read an object; null when it does not exist. With ifNoneMatch, answers notModified when unchanged. */
  get(key: string, options?: { ifNoneMatch?: string }): Promise<GetResult | null>;
  /**
   * Stream an object to a local file; false when it does not exist. A file already at `path` is
   * replaced, never written through (it may be a hard link to something else). With `mayLink`
   * (for a caller that only reads the file and then removes it), a local store hard-links the
   * object instead of copying it when it can: the same bytes, none copied.
   */
  getToFile(key: string, path: string, options?: GetToFileOptions): Promise<boolean>;
  head(key: string): Promise<ObjectInfo | null>;
  /** All objects under a prefix in key order, paged internally; startAfter skips keys <= it. */
  list(prefix: string, options?: { startAfter?: string }): AsyncIterable<ObjectInfo>;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}
