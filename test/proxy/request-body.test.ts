// Reading the request body: a client that hangs up, bad chunk framing, an idle or slow upload,
// and a body over the limit each end in a clear answer (or none, for a client that left), one
// record with the right outcome, and no error-level log line.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import pino from 'pino';
import { startMockUpstream, type MockUpstream } from '../../src/mock/upstream.ts';
import { startTestProxy, waitFor, type TestProxy } from '../helpers/proxy.ts';

const LIMIT = 64 * 1024;
const BODY_TIMEOUT_MS = 400;
/** Far more than the kernel's socket buffers hold, so the client is still sending when the 413 goes out. */
const UPLOAD = 32 * 1024 * 1024;

/** Operational log lines the proxy wrote, parsed. */
const logLines: { level: number; msg: string }[] = [];
const logger = pino(
  { level: 'info' },
  new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logLines.push(JSON.parse(line) as { level: number; msg: string });
      cb();
    },
  }),
);
const errorLines = () => logLines.filter((l) => l.level >= 50);

let mock: MockUpstream;
let tp: TestProxy;
before(async () => {
  mock = await startMockUpstream();
  tp = await startTestProxy({
    upstreamUrl: mock.url,
    config: { max_body_bytes: LIMIT, request_body_timeout_ms: BODY_TIMEOUT_MS },
    proxyOptions: { logger },
  });
});
after(async () => {
  await tp?.close();
  await mock?.close();
});

function open(): Promise<Socket> {
  const { port } = new URL(tp.url);
  const s = connect(Number(port), '127.0.0.1');
  return once(s, 'connect').then(() => s);
}

/** Everything the server sends until it closes the connection (or the deadline passes). */
async function readUntilClosed(s: Socket, timeoutMs = 10_000): Promise<{ text: string; closedByServer: boolean }> {
  let text = '';
  let timedOut = false;
  s.on('data', (d: Buffer) => (text += d.toString('latin1')));
  s.on('error', () => {}); // a reset after the answer is a close too
  const timer = setTimeout(() => {
    timedOut = true;
    s.destroy();
  }, timeoutMs);
  await new Promise<void>((resolve) => {
    s.once('end', resolve);
    s.once('close', resolve);
  });
  clearTimeout(timer);
  return { text, closedByServer: !timedOut };
}

const CHAT = JSON.stringify({ model: 'mock/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
const HEAD = (extra: string) => `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${extra}\r\n`;

function recordsSince(n: number) {
  return tp.records().slice(n);
}

describe('a client that hangs up mid-body, or sends bad chunk framing', () => {
  test('hang-up mid-body: recorded as client_disconnect with status 0, no error log', async () => {
    const n = tp.records().length;
    const errors = errorLines().length;
    const s = await open();
    // The client goes once the proxy has the request's headers (and is reading its body).
    const started = once(tp.proxy.server, 'request');
    s.write(HEAD(`Content-Length: ${CHAT.length + 100}\r\n`) + CHAT.slice(0, 20));
    await started;
    s.destroy();
    const recs = await waitFor(() => (recordsSince(n).length > 0 ? recordsSince(n) : null), 'the record');
    assert.equal(recs.length, 1);
    assert.equal(recs[0]!.outcome, 'client_disconnect');
    assert.equal(recs[0]!.status, 0);
    assert.equal(errorLines().length, errors, 'no error-level log line');
  });

  test('bad chunk framing: a 400 invalid_request (OpenAI shape), the connection closed, no error log', async () => {
    const n = tp.records().length;
    const errors = errorLines().length;
    const s = await open();
    s.write(HEAD('Transfer-Encoding: chunked\r\n') + '5\r\n{"mod\r\nZZZ-not-a-size\r\nxx\r\n');
    const { text, closedByServer } = await readUntilClosed(s);
    assert.match(text, /^HTTP\/1\.1 400 /);
    const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { error: { type: string; code: string; message: string } };
    assert.equal(body.error.type, 'invalid_request_error');
    assert.match(body.error.message, /chunk/i);
    assert.ok(closedByServer, 'the server closed the connection');
    const recs = recordsSince(n);
    assert.equal(recs.length, 1);
    assert.equal(recs[0]!.outcome, 'invalid_request');
    assert.equal(recs[0]!.status, 400);
    assert.equal(errorLines().length, errors, 'no error-level log line');
  });
});

describe('request body timeout', () => {
  test('an idle upload gets a 408 (OpenAI shape) and its connection closed', async () => {
    const n = tp.records().length;
    const s = await open();
    const started = Date.now();
    s.write(HEAD(`Content-Length: ${CHAT.length}\r\n`) + CHAT.slice(0, 10));
    const { text, closedByServer } = await readUntilClosed(s);
    assert.ok(Date.now() - started >= BODY_TIMEOUT_MS - 50, 'not before the timeout');
    assert.match(text, /^HTTP\/1\.1 408 /);
    assert.match(text, /\r\nconnection: close\r\n/i);
    const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { error: { code: string } };
    assert.equal(body.error.code, 'request_timeout');
    assert.ok(closedByServer, 'the server closed the connection');
    const recs = recordsSince(n);
    assert.equal(recs.length, 1);
    assert.equal(recs[0]!.outcome, 'invalid_request');
    assert.equal(recs[0]!.status, 408);
  });

  test('a slow upload that keeps sending is cut at the same deadline (the timeout bounds the whole body)', async () => {
    const s = await open();
    s.write(HEAD(`Content-Length: ${CHAT.length}\r\n`));
    let i = 0;
    const drip = setInterval(() => {
      if (i < CHAT.length - 1 && !s.destroyed) s.write(CHAT[i++]!);
    }, 20);
    try {
      const { text } = await readUntilClosed(s);
      assert.match(text, /^HTTP\/1\.1 408 /);
    } finally {
      clearInterval(drip);
    }
  });

  test('a response that lasts longer than the body timeout is not cut', async () => {
    const res = await fetch(`${tp.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true, max_tokens: 12, mock_chunk_delay_ms: 100 }),
    });
    const text = await res.text();
    assert.equal(res.status, 200);
    assert.match(text, /data: \[DONE\]/);
  });
});

describe('a body over the limit', () => {
  const big = (bytes: number) => JSON.stringify({ model: 'mock/gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(bytes) }] });

  test('fetch reads the 413 of a 32 MiB upload (no EPIPE), five times in a row', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${tp.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big(UPLOAD) });
      assert.equal(res.status, 413);
      const body = (await res.json()) as { error: { code: string } };
      assert.equal(body.error.code, 'payload_too_large');
    }
  });

  test('fetch reads the 413 of a chunked upload (no Content-Length) over the limit', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(256 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= UPLOAD) return controller.close();
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const res = await fetch(`${tp.url}/v1/chat/completions`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    assert.equal(res.status, 413);
    await res.arrayBuffer();
  });

  test('a node:http client reads the 413 and finishes its upload without EPIPE', async () => {
    const outcome = await new Promise<{ status?: number; error?: string }>((resolve) => {
      const req = request(`${tp.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-length': UPLOAD } }, (res) => {
        res.resume();
        res.on('end', () => setImmediate(() => resolve({ status: res.statusCode! })));
      });
      req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
      const block = Buffer.alloc(1024 * 1024, 0x78);
      let written = 0;
      const pump = () => {
        while (written < UPLOAD) {
          written += block.length;
          if (!req.write(block)) return;
        }
        req.end();
      };
      req.on('drain', pump);
      pump();
    });
    assert.deepEqual(outcome, { status: 413 });
  });

  test('the official openai client gets an APIError 413 and does not retry', async () => {
    const n = tp.records().length;
    const client = new OpenAI({ apiKey: 'sk-any', baseURL: `${tp.url}/v1` }); // default retries on
    await assert.rejects(
      client.chat.completions.create({ model: 'mock/gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(UPLOAD) }] }),
      (err: unknown) => err instanceof OpenAI.APIError && err.status === 413,
    );
    assert.equal(recordsSince(n).length, 1, 'one request, one record: no retry');
  });

  test('curl reads the 413', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tagspend-413-'));
    try {
      const file = join(dir, 'body.json');
      writeFileSync(file, big(UPLOAD));
      const { stdout } = await promisify(execFile)('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'content-type: application/json', '--data-binary', `@${file}`, `${tp.url}/v1/chat/completions`]);
      assert.equal(stdout, '413');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an upload far beyond the limit is discarded only up to the bound, then the connection is closed', async () => {
    const s = await open();
    const total = 16 * 1024 * 1024 * 1024;
    s.write(HEAD(`Content-Length: ${total}\r\n`));
    const block = Buffer.alloc(64 * 1024, 0x78);
    let written = 0;
    s.on('drain', pump);
    function pump() {
      while (!s.destroyed && written < total) {
        written += block.length;
        if (!s.write(block)) return;
      }
    }
    pump();
    const { text, closedByServer } = await readUntilClosed(s, 30_000);
    assert.match(text, /^HTTP\/1\.1 413 /);
    assert.ok(closedByServer, 'the server closed the connection');
    assert.ok(written < total, `the server stopped reading after ${written} bytes`);
  });
});
