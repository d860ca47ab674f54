// The SSE tap: events pass through whatever the chunking, only new bytes are scanned, and an
// event larger than the configured cap is an upstream error (recorded, and told to the client).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UpstreamEventTooLargeError } from '../../src/errors.ts';
import { SseUsageTap } from '../../src/proxy/sse.ts';
import { startTestProxy, type TestProxy } from '../helpers/proxy.ts';

const chunk = (i: number, extra = '') => `data: {"id":"c","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"w${i}${extra}"}}]}`;
const usage = 'data: {"id":"c","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}';

function feed(tap: SseUsageTap, bytes: Buffer, sizes: (i: number) => number): string {
  let out = '';
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = Math.max(1, sizes(i));
    out += tap.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out + tap.flush();
}

describe('SseUsageTap', () => {
  const stream = [chunk(1), chunk(2, 'é😀'), usage, 'data: [DONE]'].join('\n\n') + '\n\n';

  test('the output and the usage are the same whatever the chunking (LF events, split anywhere, multi-byte characters included)', () => {
    const bytes = Buffer.from(stream);
    const whole = new SseUsageTap({ hideUsageChunk: false });
    const expected = feed(whole, bytes, () => bytes.length);
    assert.equal(expected, stream);
    for (const size of [1, 2, 3, 5, 7, 64]) {
      const tap = new SseUsageTap({ hideUsageChunk: false });
      assert.equal(feed(tap, bytes, () => size), expected, `chunks of ${size}`);
      assert.deepEqual([tap.usage?.prompt_tokens, tap.usage?.completion_tokens, tap.done, tap.events], [7, 3, true, 4]);
    }
  });

  test('CRLF and CR line endings are normalised the same way when a CRLF is split between two chunks', () => {
    for (const eol of ['\r\n', '\r']) {
      const bytes = Buffer.from(stream.replaceAll('\n', eol));
      const expected = feed(new SseUsageTap({ hideUsageChunk: true }), bytes, () => bytes.length);
      assert.equal(expected, [chunk(1), chunk(2, 'é😀'), 'data: [DONE]'].join('\n\n') + '\n\n');
      for (const size of [1, 2, 3]) {
        const tap = new SseUsageTap({ hideUsageChunk: true });
        assert.equal(feed(tap, bytes, () => size), expected, `${JSON.stringify(eol)} in chunks of ${size}`);
        assert.equal(tap.usage?.total_tokens, 10);
      }
    }
  });

  test('an event without boundaries is scanned once: 32 MiB in 4 KiB chunks in linear time, not quadratic', () => {
    const tap = new SseUsageTap({ hideUsageChunk: false, maxEventBytes: 64 * 1024 * 1024 });
    const piece = Buffer.from('x'.repeat(4096));
    const started = process.hrtime.bigint();
    for (let i = 0; i < 8192; i++) assert.equal(tap.push(piece), '');
    const out = tap.push(Buffer.from('\n\n'));
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    assert.equal(out.length, 32 * 1024 * 1024 + 2);
    // Quadratic rescanning took minutes here (issue 9: 9 s of CPU at 16 MiB); linear is tens of ms.
    assert.ok(ms < 15_000, `took ${ms} ms`);
  });

  test('an event over maxEventBytes is an UpstreamEventTooLargeError, also when it arrives in small pieces', () => {
    const tap = new SseUsageTap({ hideUsageChunk: false, maxEventBytes: 1000 });
    assert.equal(tap.push(Buffer.from(`${chunk(1)}\n\n`)), `${chunk(1)}\n\n`);
    assert.throws(() => {
      for (let i = 0; i < 100; i++) tap.push(Buffer.from('data: 0123456789'));
    }, (err: unknown) => err instanceof UpstreamEventTooLargeError && /larger than 1000 bytes/.test(err.message) && err.code.startsWith('UPSTREAM'));
    // An event of exactly the cap passes.
    const exact = new SseUsageTap({ hideUsageChunk: false, maxEventBytes: 1000 });
    const body = `data: ${'y'.repeat(1000 - 8)}\n\n`;
    assert.equal(Buffer.byteLength(body), 1000);
    assert.equal(exact.push(Buffer.from(body)), body);
  });
});

describe('an upstream event over the cap through the proxy', () => {
  let upstream: Server;
  let tp: TestProxy;
  before(async () => {
    upstream = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`${chunk(1)}\n\n`);
        // 2 MiB with no event boundary, in 64 KiB writes.
        const block = 'z'.repeat(64 * 1024);
        let n = 0;
        const more = () => {
          while (n < 32) {
            n += 1;
            if (!res.write(block)) return void res.once('drain', more);
          }
          res.end('\n\ndata: [DONE]\n\n');
        };
        res.write('data: ');
        more();
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    tp = await startTestProxy({
      upstreamUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`,
      config: { upstream: { max_event_bytes: 1024 * 1024 } },
    });
  });
  after(async () => {
    await tp?.close();
    upstream?.closeAllConnections();
    await new Promise<void>((r) => upstream?.close(() => r()));
  });

  test('the client gets the events before it, then an error event, and the record says upstream_error', async () => {
    const res = await fetch(`${tp.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true }),
    });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.ok(text.startsWith(`${chunk(1)}\n\n`), 'the event before it is relayed');
    const events = text.split('\n\n').filter(Boolean);
    const last = JSON.parse(events.at(-1)!.replace(/^data: /, '')) as { error: { code: string; message: string } };
    assert.equal(last.error.code, 'upstream_event_too_large');
    assert.doesNotMatch(text, /zzzz/, 'no part of the oversized event reaches the client');
    const recs = tp.records().filter((r) => r.request_id === res.headers.get('x-tagspend-request-id'));
    assert.equal(recs.length, 1);
    assert.equal(recs[0]!.outcome, 'upstream_error');
    assert.equal(recs[0]!.status, 200);
    assert.match(recs[0]!.error ?? '', /event larger than 1048576 bytes/);
  });
});
