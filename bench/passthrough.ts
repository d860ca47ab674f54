// The baseline for `npm run bench`: the least a logging LLM proxy can do. node:http in,
// undici out through a keep-alive pool, usage parsed from the JSON answer, one pino line
// per request with a synchronous destination. No auth, attribution, routing or pricing.
import { rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import pino from 'pino';
import { Pool } from 'undici';

const upstream = new URL(process.env.UPSTREAM_URL ?? 'http://127.0.0.1:4010/v1');
const pool = new Pool(upstream.origin, { connections: 256 });
const logFile = join(tmpdir(), `tagspend-baseline-${process.pid}.ndjson`);
const log = pino({ base: null, timestamp: false }, pino.destination({ dest: logFile, sync: true }));

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', async () => {
    try {
      const body = Buffer.concat(chunks);
      const up = await pool.request({
        path: upstream.pathname + req.url!.replace(/^\/v1/, ''),
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      const text = await up.body.text();
      const usage = (JSON.parse(text) as { usage?: unknown }).usage ?? null;
      log.info({ path: req.url, status: up.statusCode, usage });
      res.writeHead(up.statusCode, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    } catch (err) {
      res.writeHead(502).end(String(err));
    }
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(JSON.stringify({ url: `http://127.0.0.1:${port}` }) + '\n');
});
process.once('SIGTERM', () => {
  rmSync(logFile, { force: true }); // a run writes ~20 MiB of lines nobody reads afterwards
  process.exit(0);
});
