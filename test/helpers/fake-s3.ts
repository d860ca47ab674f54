// A minimal S3 endpoint for tests of what s3rver cannot do: conditional writes. It keeps objects
// in memory (path-style /bucket/key), answers GET, HEAD, PUT and DELETE, enforces PutObject's
// If-None-Match: * and If-Match: "<etag>" as AWS documents them (412 PreconditionFailed), can
// answer the next conditional PUTs with 409 ConditionalRequestConflict, and records every
// request's method, key and conditional headers.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeS3Request {
  method: string;
  key: string;
  ifMatch: string | undefined;
  ifNoneMatch: string | undefined;
  status: number;
}

export interface FakeS3 {
  endpoint: string;
  bucket: string;
  readonly requests: FakeS3Request[];
  readonly objects: Map<string, { body: Buffer; etag: string }>;
  /** The next this-many conditional PUTs are answered 409 ConditionalRequestConflict. */
  conflictNext: number;
  close(): Promise<void>;
}

function s3Error(res: ServerResponse, status: number, code: string, message: string): number {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
  res.end(xml);
  return status;
}

export async function startFakeS3(bucket = 'fake-bucket'): Promise<FakeS3> {
  const objects = new Map<string, { body: Buffer; etag: string }>();
  const requests: FakeS3Request[] = [];
  const state = { conflictNext: 0 };

  function handle(req: IncomingMessage, res: ServerResponse, body: Buffer): number {
    const url = new URL(req.url ?? '/', 'http://x');
    const prefix = `/${bucket}/`;
    if (!url.pathname.startsWith(prefix)) return s3Error(res, 404, 'NoSuchBucket', 'no such bucket');
    const key = decodeURIComponent(url.pathname.slice(prefix.length));
    const held = objects.get(key);
    const ifMatch = req.headers['if-match'] as string | undefined;
    const ifNoneMatch = req.headers['if-none-match'] as string | undefined;
    switch (req.method) {
      case 'PUT': {
        if ((ifMatch !== undefined || ifNoneMatch !== undefined) && state.conflictNext > 0) {
          state.conflictNext -= 1;
          return s3Error(res, 409, 'ConditionalRequestConflict', 'A conflicting conditional operation is currently in progress against this resource.');
        }
        if (ifNoneMatch === '*' && held) return s3Error(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
        if (ifMatch !== undefined && (!held || ifMatch !== `"${held.etag}"`)) {
          return s3Error(res, held ? 412 : 404, held ? 'PreconditionFailed' : 'NoSuchKey', 'precondition');
        }
        const etag = createHash('md5').update(body).digest('hex');
        objects.set(key, { body, etag });
        res.writeHead(200, { etag: `"${etag}"`, 'content-length': 0 });
        res.end();
        return 200;
      }
      case 'GET':
      case 'HEAD': {
        if (!held) {
          if (req.method === 'HEAD') {
            res.writeHead(404);
            res.end();
            return 404;
          }
          return s3Error(res, 404, 'NoSuchKey', 'The specified key does not exist.');
        }
        res.writeHead(200, { etag: `"${held.etag}"`, 'content-length': held.body.length, 'last-modified': new Date(0).toUTCString() });
        res.end(req.method === 'GET' ? held.body : undefined);
        return 200;
      }
      case 'DELETE':
        objects.delete(key);
        res.writeHead(204);
        res.end();
        return 204;
      default:
        return s3Error(res, 405, 'MethodNotAllowed', 'not here');
    }
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const status = handle(req, res, Buffer.concat(chunks));
      requests.push({
        method: req.method ?? '',
        key: decodeURIComponent(url.pathname.slice(bucket.length + 2)),
        ifMatch: req.headers['if-match'] as string | undefined,
        ifNoneMatch: req.headers['if-none-match'] as string | undefined,
        status,
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bucket,
    requests,
    objects,
    get conflictNext() {
      return state.conflictNext;
    },
    set conflictNext(n: number) {
      state.conflictNext = n;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
