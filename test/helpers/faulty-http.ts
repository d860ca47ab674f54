// A pass-through HTTP proxy in front of a test server that can be told to fail: while `failing`
// is on, every request is answered 500 with an S3-style error body (as S3 does under trouble),
// otherwise it is forwarded unchanged.
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FaultyHttp {
  readonly url: string;
  failing: boolean;
  /** Requests answered with 500 so far. */
  readonly failures: number;
  close(): Promise<void>;
}

const S3_ERROR = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code><Message>injected by the test</Message></Error>';

export async function startFaultyHttp(target: () => { host: string; port: number }): Promise<FaultyHttp> {
  let failures = 0;
  const state = { failing: false };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (state.failing) {
      failures += 1;
      req.resume();
      req.once('end', () => {
        res.writeHead(500, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(S3_ERROR) });
        res.end(S3_ERROR);
      });
      return;
    }
    const { host, port } = target();
    const upstream = request({ host, port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.once('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get failing() {
      return state.failing;
    },
    set failing(on: boolean) {
      state.failing = on;
    },
    get failures() {
      return failures;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
