// Input no record column can hold is refused at the proxy (lone surrogates, absurd model names)
// or bounded (absurd usage from a provider), always with exactly one record that ingest loads.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MAX_USAGE_TOKENS } from '../../src/spend/record.ts';
import { proxyWithMock, startTestProxy, type TestProxy } from '../helpers/proxy.ts';

const env = proxyWithMock();

async function postRaw(text: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${env.tp.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: text });
  const body = (await res.json()) as { error?: { message: string; type: string; param: string | null; code: string | null } };
  return { res, body, id: res.headers.get('x-tagspend-request-id') };
}

function onlyRecord(id: string | null) {
  const recs = env.tp.records().filter((r) => r.request_id === id);
  assert.equal(recs.length, 1, 'exactly one record');
  return recs[0]!;
}

const MSG = '"messages":[{"role":"user","content":"hi"}]';

describe('lone surrogates are refused with a 400 and one record', () => {
  // The escapes are written into the JSON text as a client would send them.
  for (const [name, text, param] of [
    ['user', `{"model":"mock/gpt-4o-mini",${MSG},"user":"u\\udc00"}`, 'user'],
    ['a root tag', `{"model":"mock/gpt-4o-mini",${MSG},"tags":["app:\\ud800"]}`, 'tags'],
    ['a metadata value', `{"model":"mock/gpt-4o-mini",${MSG},"metadata":{"spend_logs_metadata":{"p":"\\udfff"}}}`, 'metadata.spend_logs_metadata'],
    ['a metadata key', `{"model":"mock/gpt-4o-mini",${MSG},"metadata":{"spend_logs_metadata":{"\\udc01":"v"}}}`, 'metadata.spend_logs_metadata'],
    ['the model', `{"model":"mock/gpt\\udc00",${MSG}}`, 'model'],
  ] as const) {
    test(`in ${name}`, async () => {
      const before = env.mock.requests;
      const { res, body, id } = await postRaw(text);
      assert.equal(res.status, 400);
      assert.equal(body.error?.type, 'invalid_request_error');
      assert.equal(body.error?.param, param);
      assert.match(body.error!.message, /surrogate/);
      assert.equal(env.mock.requests, before, 'the provider was not called');
      const rec = onlyRecord(id);
      assert.equal(rec.outcome, 'invalid_request');
      assert.equal(rec.status, 400);
      assert.ok(rec.model === null || rec.model.isWellFormed(), 'the record holds no lone surrogate');
    });
  }
});

test('a model name longer than 1024 characters is a 400, and its record keeps 1024 of them', async () => {
  const model = `mock/${'m'.repeat(200_000)}`;
  const { res, body, id } = await postRaw(JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }));
  assert.equal(res.status, 400);
  assert.equal(body.error?.param, 'model');
  const rec = onlyRecord(id);
  assert.equal(rec.model, model.slice(0, 1024));
});

describe('absurd usage from a provider', () => {
  let absurd: Server;
  let tp2: TestProxy;
  const usage = { prompt_tokens: 1e300, completion_tokens: 5, total_tokens: 1e300, prompt_tokens_details: { cached_tokens: 2e19 } };
  before(async () => {
    absurd = createServer((req, res) => {
      let text = '';
      req.on('data', (c) => (text += c));
      req.on('end', () => {
        const stream = (JSON.parse(text) as { stream?: boolean }).stream === true;
        if (stream) {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', model: 'gpt-4o-mini', choices: [{ index: 0, delta: { content: 'hi' } }] })}\n\n`);
          res.write(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', model: 'gpt-4o-mini', choices: [], usage })}\n\n`);
          res.end('data: [DONE]\n\n');
          return;
        }
        const answer = JSON.stringify({ id: 'c1', object: 'chat.completion', model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' } }], usage });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
        res.end(answer);
      });
    });
    await new Promise<void>((r) => absurd.listen(0, '127.0.0.1', r));
    tp2 = await startTestProxy({ upstreamUrl: `http://127.0.0.1:${(absurd.address() as AddressInfo).port}/v1` });
  });
  after(async () => {
    await tp2?.close();
    await new Promise<void>((r) => absurd?.close(() => r()));
  });

  for (const stream of [false, true]) {
    test(`${stream ? 'streamed' : 'whole'}: the answer is relayed, the counts are recorded at the bound with a note, and the cost stays finite`, async () => {
      const res = await fetch(`${tp2.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'mock/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream }),
      });
      assert.equal(res.status, 200);
      await res.text();
      const recs = tp2.records().filter((r) => r.request_id === res.headers.get('x-tagspend-request-id'));
      assert.equal(recs.length, 1);
      const rec = recs[0]!;
      assert.equal(rec.outcome, 'success');
      assert.equal(rec.prompt_tokens, MAX_USAGE_TOKENS);
      assert.equal(rec.total_tokens, MAX_USAGE_TOKENS);
      assert.equal(rec.completion_tokens, 5);
      assert.equal(rec.cached_tokens, MAX_USAGE_TOKENS);
      assert.match(rec.error ?? '', /provider reported prompt_tokens=1e\+300, total_tokens=1e\+300, cached_tokens=20000000000000000000; recorded as at most 1000000000 tokens each/);
      assert.ok(rec.cost_usd !== null && Number.isFinite(rec.cost_usd) && rec.cost_usd > 0 && rec.cost_usd < 1e8, `cost ${rec.cost_usd}`);
    });
  }

  test('each clamped record is counted in tagspend_usage_clamped_total', async () => {
    const text = await (await fetch(`${tp2.url}/metrics`)).text();
    assert.match(text, /^tagspend_usage_clamped_total 2$/m);
  });
});

describe('header text is UTF-8', () => {
  const wire = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');

  test('x-litellm-tags: café, €uro and a UTF-8 end user arrive in the record as sent', async () => {
    const { res, id } = await postRaw(`{"model":"mock/gpt-4o-mini",${MSG}}`, {
      'x-litellm-tags': wire('café, €uro'),
      'x-litellm-end-user-id': wire('José'),
      'x-litellm-spend-logs-metadata': wire('{"city":"Zürich"}'),
    });
    assert.equal(res.status, 200);
    const rec = onlyRecord(id);
    assert.deepEqual(rec.tags, ['café', '€uro']);
    assert.equal(rec.user, 'José');
    assert.deepEqual(rec.metadata, { city: 'Zürich' });
  });

  test('a header value that is not UTF-8 is a 400 naming the header', async () => {
    const { res, body, id } = await postRaw(`{"model":"mock/gpt-4o-mini",${MSG}}`, { 'x-litellm-tags': 'caf\u00e9' });
    assert.equal(res.status, 400);
    assert.equal(body.error?.param, 'x-litellm-tags');
    assert.equal(onlyRecord(id).outcome, 'invalid_request');
  });
});
