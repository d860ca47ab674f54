// The S3 object store (AWS S3, MinIO, R2, any S3-compatible server), rooted at `s3://bucket/prefix`.
// Credentials come from the SDK's default chain (env, shared config, SSO, container, instance).
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { StoreIntegrityError, StoreKeyError, StorePreconditionFailedError, StoreUnavailableError } from '../errors.ts';
import { checkMd5, md5Base64, md5OfFile } from './digest.ts';
import { assertValidKey, assertValidPrefix } from './keys.ts';
import { isMissingObject, isNotModified, s3Failure } from './s3-errors.ts';
import type { GetResult, ObjectInfo, ObjectStore, PutOptions } from './types.ts';

const MiB = 1024 * 1024;

export interface S3StoreOptions {
  /** For S3-compatible servers; AWS S3 itself needs none. */
  endpoint?: string;
  /** Defaults to us-east-1 when an endpoint is given, otherwise to the SDK's region chain. */
  region?: string;
  forcePathStyle?: boolean;
  /** `when_required` for servers that mishandle the SDK's default flexible checksums. */
  checksums?: 'when_supported' | 'when_required';
  /** Overrides the default credential chain (embedding, tests). */
  credentials?: S3ClientConfig['credentials'];
  /** Keys per ListObjectsV2 page (S3's maximum and default: 1000). */
  pageSize?: number;
  /** Files larger than this go up as multipart uploads (default 16 MiB). */
  multipartThreshold?: number;
  partSize?: number;
}

export class S3Store implements ObjectStore {
  readonly url: string;
  readonly bucket: string;
  /** '' or ends with '/': prepended to every key. */
  readonly prefix: string;
  readonly #client: S3Client;
  readonly #pageSize: number;
  readonly #multipartThreshold: number;
  readonly #partSize: number;

  constructor(url: string, options: S3StoreOptions = {}) {
    const match = /^s3:\/\/([^/]+)\/*(.*)$/.exec(url);
    if (!match) throw new StoreKeyError(`not an s3:// URL: ${url}`);
    this.bucket = match[1]!;
    const prefix = match[2]!.replace(/\/+$/, '');
    if (prefix !== '') assertValidPrefix(prefix);
    this.prefix = prefix === '' ? '' : `${prefix}/`;
    this.url = `s3://${this.bucket}/${prefix}`;
    this.#pageSize = options.pageSize ?? 1000;
    this.#multipartThreshold = options.multipartThreshold ?? 16 * MiB;
    this.#partSize = options.partSize ?? 8 * MiB;

    const checksums = options.checksums === 'when_required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED';
    const region = options.region ?? (options.endpoint === undefined ? undefined : 'us-east-1');
    this.#client = new S3Client({
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(region === undefined ? {} : { region }),
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      forcePathStyle: options.forcePathStyle ?? false,
      requestChecksumCalculation: checksums,
      responseChecksumValidation: checksums,
      // Without timeouts a server that accepts and then hangs would stall the shipper forever.
      requestHandler: { connectionTimeout: 5_000, socketTimeout: 60_000 },
    });
  }

  async put(key: string, body: Buffer | string, options: PutOptions = {}): Promise<ObjectInfo> {
    const data = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    return this.#putBuffer(key, data, options);
  }

  async putFile(key: string, path: string, options: PutOptions = {}): Promise<ObjectInfo> {
    const fullKey = this.#key(key);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch (err) {
      throw s3Failure(err, `put ${key} from ${path}`);
    }
    if (size <= this.#multipartThreshold) return this.#putBuffer(key, await readFile(path), options);

    // Check the source against the caller's digest first: what is on disk is what gets sent.
    if (options.contentMd5 !== undefined) checkMd5(key, options.contentMd5, await md5OfFile(path));
    const upload = new Upload({
      client: this.#client,
      params: {
        Bucket: this.bucket,
        Key: fullKey,
        Body: createReadStream(path),
        ...(options.contentType === undefined ? {} : { ContentType: options.contentType }),
      },
      partSize: this.#partSize,
      queueSize: 2,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (err) {
      throw s3Failure(err, `multipart put ${key}`);
    }
    return this.#verifyStored(key, size);
  }

  async get(key: string, options: { ifNoneMatch?: string } = {}): Promise<GetResult | null> {
    const fullKey = this.#key(key);
    const known = options.ifNoneMatch;
    try {
      const res = await this.#client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: fullKey, ...(known === undefined ? {} : { IfNoneMatch: quote(known) }) }),
      );
      const etag = unquote(res.ETag);
      // Some servers (s3rver among them) ignore If-None-Match: answer as S3 would have.
      if (known !== undefined && etag === known) {
        (res.Body as Readable | undefined)?.destroy();
        return { notModified: true, etag };
      }
      if (!res.Body) return { body: Buffer.alloc(0), etag };
      return { body: Buffer.from(await res.Body.transformToByteArray()), etag };
    } catch (err) {
      if (known !== undefined && isNotModified(err)) return { notModified: true, etag: known };
      if (isMissingObject(err)) return null;
      throw s3Failure(err, `get ${key}`);
    }
  }

  async getToFile(key: string, path: string): Promise<boolean> {
    const fullKey = this.#key(key);
    let body: Readable;
    try {
      const res = await this.#client.send(new GetObjectCommand({ Bucket: this.bucket, Key: fullKey }));
      body = res.Body as Readable;
    } catch (err) {
      if (isMissingObject(err)) return false;
      throw s3Failure(err, `get ${key}`);
    }
    try {
      await rm(path, { force: true }); // replace a file already there, never write through it
      await pipeline(body, createWriteStream(path));
      return true;
    } catch (err) {
      await rm(path, { force: true }); // never leave a truncated copy behind
      throw s3Failure(err, `get ${key} to ${path}`);
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const fullKey = this.#key(key);
    try {
      const res = await this.#client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: fullKey }));
      return { key, size: res.ContentLength ?? 0, etag: unquote(res.ETag), lastModified: res.LastModified ?? new Date(0) };
    } catch (err) {
      if (isMissingObject(err)) return null;
      throw s3Failure(err, `head ${key}`);
    }
  }

  async *list(prefix: string, options: { startAfter?: string } = {}): AsyncIterable<ObjectInfo> {
    assertValidPrefix(prefix);
    const startAfter = options.startAfter ? this.prefix + options.startAfter : undefined;
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.#client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix + prefix,
            MaxKeys: this.#pageSize,
            // S3 applies StartAfter to the first page only; later pages resume from the token.
            ...(token === undefined ? (startAfter === undefined ? {} : { StartAfter: startAfter }) : { ContinuationToken: token }),
          }),
        );
      } catch (err) {
        throw s3Failure(err, `list ${prefix || '/'}`);
      }
      for (const item of page.Contents ?? []) {
        if (item.Key === undefined || !item.Key.startsWith(this.prefix)) continue;
        yield {
          key: item.Key.slice(this.prefix.length),
          size: item.Size ?? 0,
          etag: unquote(item.ETag),
          lastModified: item.LastModified ?? new Date(0),
        };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async delete(key: string): Promise<void> {
    const fullKey = this.#key(key);
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: fullKey }));
    } catch (err) {
      if (isMissingObject(err)) return;
      throw s3Failure(err, `delete ${key}`);
    }
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }

  #key(key: string): string {
    assertValidKey(key);
    return this.prefix + key;
  }

  async #putBuffer(key: string, data: Buffer, options: PutOptions): Promise<ObjectInfo> {
    const fullKey = this.#key(key);
    const md5 = md5Base64(data);
    if (options.contentMd5 !== undefined) checkMd5(key, options.contentMd5, md5);
    let written: string | undefined;
    try {
      const res = await this.#client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: fullKey,
          Body: data,
          ContentLength: data.length,
          // The server rejects the upload (BadDigest) if the bytes changed on the way.
          ContentMD5: md5,
          ...(options.contentType === undefined ? {} : { ContentType: options.contentType }),
          // Conditional writes (AWS S3 since 2024): 412 when the precondition fails, 409 when
          // another conditional write to the key is in progress; both mean re-read and retry.
          ...(options.ifNoneMatch === '*' ? { IfNoneMatch: '*' } : {}),
          ...(options.ifMatch === undefined ? {} : { IfMatch: quote(options.ifMatch) }),
        }),
      );
      written = res.ETag === undefined ? undefined : unquote(res.ETag);
    } catch (err) {
      // If-Match on an object that is gone: S3 answers 404, which for this write means "changed".
      if (options.ifMatch !== undefined && isMissingObject(err)) throw new StorePreconditionFailedError(`put ${key}: the object is gone`, { cause: err });
      throw s3Failure(err, `put ${key}`);
    }
    const info = await this.#verifyStored(key, data.length);
    // The ETag of what this put wrote, not of a write that may have followed it.
    return written ? { ...info, etag: written } : info;
  }

  /** Describe the object as the store now holds it, and refuse if its size is not what we sent. */
  async #verifyStored(key: string, size: number): Promise<ObjectInfo> {
    const info = await this.head(key);
    if (info === null) throw new StoreUnavailableError(`put ${key}: the object is not visible after the upload`);
    if (info.size !== size) throw new StoreIntegrityError(`put ${key}: the store holds ${info.size} bytes, ${size} were sent`);
    return info;
  }
}

/** ETags travel quoted on the wire; tagspend keeps them bare so they compare as plain strings. */
function unquote(etag: string | undefined): string {
  return (etag ?? '').replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

function quote(etag: string): string {
  return `"${etag}"`;
}
