// Secrets and prompts never reach a record or a client through the side doors: nested metadata
// under secret-looking keys, JSON parse errors quoting the body, provider errors echoing the key.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { redactMetadata } from '../../src/proxy/attribution.ts';
import { startTestProxy, type TestProxy } from '../helpers/proxy.ts';

const PROVIDER_KEY = 'sk-provider-live-0123456789abcdef';
const PATTERNS = ['key', 'secret', 'token', 'password', 'authorization'];

test('secret-looking keys are redacted at any depth of a metadata value, and Authorization at the top', () => {
  const m: Record<string, string> = {
    Authorization: 'Bearer abc',
    cfg: JSON.stringify({ api_key: 'sk-live-1', region: 'eu', nested: { Password: 'pw', list: [{ token: 't' }, 'plain'] } }),
    text: '{"not":"parsed as a secret holder","token":"x"}',
    plain: 'value',
  };
  redactMetadata(m, PATTERNS);
  assert.equal(m.Authorization, '[REDACTED]');
  assert.deepEqual(JSON.parse(m.cfg!), { api_key: '[REDACTED]', region: 'eu', nested: { Password: '[REDACTED]', list: [{ token: '[REDACTED]' }, 'plain'] } });
  assert.deepEqual(JSON.parse(m.text!), { not: 'parsed as a secret holder', token: '[REDACTED]' });
  assert.equal(m.plain, 'value');
});

describe('through the proxy', () => {
  let upstream: Server;
  let tp: TestProxy;
  before(async () => {
    // A provider that echoes the key it was sent, in every kind of error it can give.
    upstream = createServer((req, res) => {
      const auth = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
      let text = '';
      req.on('data', (c) => (text += c));
      req.on('end', () => {
        const body = JSON.parse(text) as { model: string; stream?: boolean };
        if (body.model === 'json-error') {
          const answer = JSON.stringify({ error: { message: `Incorrect API key provided: ${auth}`, type: 'invalid_request_error', code: 'invalid_api_key' } });
          res.writeHead(401, { 'content-type': 'application/json' });
          res.end(answer);
        } else if (body.model === 'text-error') {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`upstream failure for key ${auth}`);
        } else {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write('data: {"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n');
          res.end(`data: {"error":{"message":"quota exceeded for ${auth}","type":"rate_limit_error"}}\n\n`);
        }
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    tp = await startTestProxy({
      upstreamUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`,
      config: { providers: { mock: { base_url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`, api_key: PROVIDER_KEY } } },
    });
  });
  after(async () => {
    await tp?.close();
    await new Promise<void>((r) => upstream?.close(() => r()));
  });

  async function post(body: string) {
    const res = await fetch(`${tp.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const text = await res.text();
    const recs = tp.records().filter((r) => r.request_id === res.headers.get('x-tagspend-request-id'));
    assert.equal(recs.length, 1);
    return { res, text, rec: recs[0]! };
  }

  for (const model of ['json-error', 'text-error']) {
    test(`a provider error that echoes the provider key (${model}) reaches neither the client nor the record`, async () => {
      const { res, text, rec } = await post(JSON.stringify({ model: `mock/${model}`, messages: [{ role: 'user', content: 'hi' }] }));
      assert.ok(res.status >= 400);
      assert.ok(!text.includes(PROVIDER_KEY), text);
      assert.ok(!(rec.error ?? '').includes(PROVIDER_KEY), rec.error ?? '');
      assert.match(text, /\[REDACTED\]/);
      assert.match(rec.error ?? '', /\[REDACTED\]/);
    });
  }

  test('an error event in a stream that echoes the provider key reaches neither the client nor the record', async () => {
    const { text, rec } = await post(JSON.stringify({ model: 'mock/stream', messages: [{ role: 'user', content: 'hi' }], stream: true }));
    assert.ok(!text.includes(PROVIDER_KEY), text);
    assert.match(text, /quota exceeded for \[REDACTED\]/);
    assert.equal(rec.outcome, 'upstream_error');
    assert.equal(rec.error, 'quota exceeded for [REDACTED]');
  });

  test('a body that is not JSON: the error says where, never what (no prompt text in the answer or the record)', async () => {
    const prompt = 'my confidential merger plan for ACME';
    for (const body of [`{"model":"mock/x","messages":[{"role":"user","content":"${prompt}`, `{"model":"mock/x","messages":[{"role":"user","content":"x"}]} ${prompt}`, prompt, `{"model":"mock/x","messages":[{"role":"user","content":"${prompt}", "x": tru}`]) {
      const { res, text, rec } = await post(body);
      assert.equal(res.status, 400);
      const message = (JSON.parse(text) as { error: { message: string } }).error.message;
      // V8's own messages quote up to a few words of the input ("my confide"...): none of that.
      for (const said of [message, rec.error ?? '']) assert.match(said, /^Request body is not valid JSON( \(at position \d+\))?$/, said);
    }
  });

  test('nested secret-looking metadata keys and an Authorization key are stored redacted (default patterns)', async () => {
    const { rec } = await post(
      JSON.stringify({
        model: 'mock/stream',
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
        metadata: { spend_logs_metadata: { Authorization: 'Bearer sk-client', cfg: { api_key: 'sk-live-1', region: 'eu' }, project: 'p1' } },
      }),
    );
    assert.deepEqual(rec.metadata, { Authorization: '[REDACTED]', cfg: '{"api_key":"[REDACTED]","region":"eu"}', project: 'p1' });
  });
});
