// The simulated provider in its own process for benchmarks: plain HTTP, or HTTPS (and HTTP/2 by
// ALPN) with the PEM files named by MOCK_TLS_KEY / MOCK_TLS_CERT and MOCK_HTTP2=1. Prints its
// URL as one JSON line.
import { readFileSync } from 'node:fs';
import { startMockUpstream } from '../src/mock/upstream.ts';

const keyFile = process.env.MOCK_TLS_KEY;
const certFile = process.env.MOCK_TLS_CERT;
const mock = await startMockUpstream(
  keyFile && certFile ? { tls: { key: readFileSync(keyFile), cert: readFileSync(certFile), http2: process.env.MOCK_HTTP2 === '1' } } : {},
);
process.stdout.write(JSON.stringify({ url: mock.url, pid: process.pid }) + '\n');
process.once('SIGTERM', () => {
  mock.close().then(() => process.exit(0), () => process.exit(1));
});
