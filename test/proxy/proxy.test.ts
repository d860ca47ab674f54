import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { startMockUpstream } from '../../src/mock/upstream.ts';
import { startTestProxy, waitFor, type TestProxy } from '../helpers/proxy.ts';
import type { SpendRecord } from '../../src/spend/record.ts';

const MASTER = 'sk-master-0123456789';
const KEY_SUPPORT = 'sk-support-bot-abcdef123456';
const KEY_STRICT = 'sk-strict-key-0000000000';

type Mock = Awaited<ReturnType<typeof startMockUpstream>>;
let mock: Mock;
let tp: TestProxy;

before(async () => {
  mock = await startMockUpstream();
  tp = await startTestProxy({
    upstreamUrl: mock.url,
    config: {
      master_key: MASTER,
      max_body_bytes: 64 * 1024,
      model_aliases: { fast: 'mock/gpt-4o-mini' },
      keys: [
        { key: KEY_SUPPORT, alias: 'support-bot', tags: ['app:support-bot', 'env:production'], metadata: { cost_center: 'cc-42' } },
        { key: KEY_STRICT, alias: 'strict', required_tag_prefixes: ['team:'], allowed_models: ['mock/gpt-4o-mini'] },
      ],
    },
  });
});

after(async () => {
  await tp?.close();
  await mock?.close();
});

function client(key = KEY_SUPPORT) {
  return new OpenAI({ apiKey: key, baseURL: `${tp.url}/v1`, maxRetries: 0 });
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${tp.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY_SUPPORT}`, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { res, text, json: text ? (JSON.parse(text) as Record<string, any>) : null };
}

/** The one record with this request id (fails if there are zero or several). */
function recordOf(requestId: string | null): SpendRecord {
  assert.ok(requestId, 'response carries x-tagspend-request-id');
  const found = tp.records().filter((r) => r.request_id === requestId);
  assert.equal(found.length, 1, `exactly one record for ${requestId}`);
  return found[0]!;
}

const chat = (extra: Record<string, unknown> = {}) => ({
  model: 'mock/gpt-4o-mini',
  messages: [{ role: 'user', content: 'Hello there, how are you today?' }],
  max_tokens: 20,
  ...extra,
});

describe('OpenAI client through the proxy', () => {
  test('non-stream chat is priced, recorded once and carries request id and cost headers', async () => {
    const { data, response } = await client().chat.completions.create(chat({ user: 'customer_54321' }) as any).withResponse();
    assert.equal(data.usage?.completion_tokens, 20);
    const rec = recordOf(response.headers.get('x-tagspend-request-id'));
    assert.equal(rec.schema, 2);
    assert.equal(rec.outcome, 'success');
    assert.equal(rec.status, 200);
    assert.equal(rec.endpoint, '/v1/chat/completions');
    assert.equal(rec.model, 'mock/gpt-4o-mini');
    assert.equal(rec.provider, 'mock');
    assert.equal(rec.upstream_model, data.model);
    assert.equal(rec.prompt_tokens, data.usage?.prompt_tokens);
    assert.equal(rec.completion_tokens, 20);
    assert.equal(rec.user, 'customer_54321');
    assert.deepEqual(rec.tags, ['app:support-bot', 'env:production']);
    assert.deepEqual(rec.metadata, { cost_center: 'cc-42' });
    assert.equal(rec.key_alias, 'support-bot');
    assert.match(rec.key_hash ?? '', /^[0-9a-f]{16}$/);
    assert.ok(rec.cost_usd !== null && rec.cost_usd > 0, 'priced');
    assert.match(rec.price_ref ?? '', /^genai-prices:/);
    assert.equal(Number(response.headers.get('x-tagspend-cost-usd')), rec.cost_usd);
    // The provider got its own model id and no proxy-only fields.
    assert.equal((mock.lastRequest?.body as any)?.model, 'gpt-4o-mini');
  });

  test('streamed chat passes chunks through, captures usage and hides the usage chunk the client did not ask for', async () => {
    const stream = await client().chat.completions.create(chat({ stream: true }) as any).withResponse();
    const chunks: any[] = [];
    for await (const c of stream.data as any) chunks.push(c);
    assert.ok(chunks.length > 5, 'many chunks');
    assert.equal(chunks.filter((c) => c.usage).length, 0, 'no usage chunk for a client that did not ask');
    assert.equal((mock.lastRequest?.body as any)?.stream_options?.include_usage, true, 'the proxy asked the provider for usage');
    const rec = recordOf(stream.response.headers.get('x-tagspend-request-id'));
    assert.equal(rec.stream, true);
    assert.equal(rec.outcome, 'success');
    assert.equal(rec.completion_tokens, 20);
    assert.ok(rec.cost_usd! > 0);
  });

  test('streamed chat keeps the usage chunk for a client that asked for it', async () => {
    const stream = await client().chat.completions.create(chat({ stream: true, stream_options: { include_usage: true } }) as any);
    const chunks: any[] = [];
    for await (const c of stream as any) chunks.push(c);
    const usage = chunks.filter((c) => c.usage);
    assert.equal(usage.length, 1);
    assert.equal(usage[0].usage.completion_tokens, 20);
  });

  test('embeddings are recorded with prompt tokens only', async () => {
    const { data, response } = await client().embeddings.create({ model: 'mock/text-embedding-3-small', input: 'some words to embed' }).withResponse();
    const rec = recordOf(response.headers.get('x-tagspend-request-id'));
    assert.equal(rec.endpoint, '/v1/embeddings');
    assert.equal(rec.prompt_tokens, data.usage.prompt_tokens);
    assert.equal(rec.completion_tokens, 0);
    assert.ok(rec.cost_usd! > 0);
  });

  test('responses API, plain and streamed, is recorded with its usage', async () => {
    const { data, response } = await client().responses.create({ model: 'mock/gpt-4o-mini', input: 'Say something', max_output_tokens: 12 }).withResponse();
    const rec = recordOf(response.headers.get('x-tagspend-request-id'));
    assert.equal(rec.endpoint, '/v1/responses');
    assert.equal(rec.completion_tokens, data.usage?.output_tokens);
    assert.equal(rec.completion_tokens, 12);

    const stream = await client().responses.create({ model: 'mock/gpt-4o-mini', input: 'Say something', max_output_tokens: 7, stream: true }).withResponse();
    const types: string[] = [];
    for await (const ev of stream.data as any) types.push(ev.type);
    assert.ok(types.includes('response.completed'));
    const srec = recordOf(stream.response.headers.get('x-tagspend-request-id'));
    assert.equal(srec.stream, true);
    assert.equal(srec.completion_tokens, 7);
    assert.equal(srec.outcome, 'success');
  });

  test('a model alias routes to its provider model', async () => {
    const { response } = await client().chat.completions.create(chat({ model: 'fast' }) as any).withResponse();
    const rec = recordOf(response.headers.get('x-tagspend-request-id'));
    assert.equal(rec.model, 'fast');
    assert.equal(rec.provider, 'mock');
    assert.equal((mock.lastRequest?.body as any)?.model, 'gpt-4o-mini');
  });

  test('GET /v1/models lists aliases and providers', async () => {
    const models = await client().models.list();
    const ids = models.data.map((m) => m.id);
    assert.ok(ids.includes('fast'));
    assert.ok(ids.includes('mock/*'));
  });
});

describe('attribution over raw HTTP', () => {
  test('every source merges in order and the key tags cannot be dropped', async () => {
    const { res, json } = await post(
      '/v1/chat/completions',
      chat({ metadata: { tags: ['app:support-bot', 'tenant:acme'], spend_logs_metadata: { project: 'q4', from: 'body' } }, tags: ['stage:beta', 'app:support-bot'] }),
      { 'x-litellm-tags': 'team:sales, tenant:acme', 'x-tagspend-tags': 'feature:chat', 'x-litellm-spend-logs-metadata': '{"from":"header"}' },
    );
    assert.equal(res.status, 200, JSON.stringify(json));
    const rec = recordOf(res.headers.get('x-tagspend-request-id'));
    assert.deepEqual(rec.tags, ['app:support-bot', 'tenant:acme', 'stage:beta', 'team:sales', 'feature:chat', 'env:production']);
    assert.deepEqual(rec.metadata, { project: 'q4', from: 'header', cost_center: 'cc-42' });
    assert.equal((mock.lastRequest?.body as any)?.metadata, undefined, 'metadata.tags and spend_logs_metadata never reach the provider');
    assert.equal((mock.lastRequest?.body as any)?.tags, undefined);
  });

  test("LiteLLM's litellm_session_id (extra_body) groups a session as metadata session_id and never reaches the provider", async () => {
    const { res, json } = await post('/v1/chat/completions', chat({ litellm_session_id: 'chat-session-9' }));
    assert.equal(res.status, 200, JSON.stringify(json));
    assert.equal(recordOf(res.headers.get('x-tagspend-request-id')).metadata.session_id, 'chat-session-9');
    assert.equal(Object.hasOwn(mock.lastRequest?.body as object, 'litellm_session_id'), false);
  });

  test('a client tag that gives a key-fixed tag key another value is a 400 with one invalid_request record', async () => {
    const { res, json } = await post('/v1/chat/completions', chat({ metadata: { tags: ['app:web'] } }));
    assert.equal(res.status, 400);
    assert.equal(json!.error.param, 'metadata.tags');
    assert.match(json!.error.message, /"app:web" conflicts with the API key's "app:support-bot"/);
    const rec = recordOf(res.headers.get('x-tagspend-request-id'));
    assert.equal(rec.outcome, 'invalid_request');
  });

  test("end user in LiteLLM's order: customer header, end-user header, user, litellm_metadata.user, metadata.user_id, safety_identifier", async () => {
    const userOf = async (body: Record<string, unknown>, headers: Record<string, string> = {}) => {
      const { res, json } = await post('/v1/chat/completions', chat(body), headers);
      assert.equal(res.status, 200, JSON.stringify(json));
      return { user: recordOf(res.headers.get('x-tagspend-request-id')).user, upstream: mock.lastRequest?.body as Record<string, unknown> };
    };
    assert.equal((await userOf({ user: 'body-user' }, { 'x-litellm-end-user-id': 'end-1' })).user, 'end-1');
    assert.equal((await userOf({ user: 'body-user' }, { 'x-litellm-customer-id': 'cust-1', 'x-litellm-end-user-id': 'end-1' })).user, 'cust-1');
    assert.equal((await userOf({ user: 'body-user', safety_identifier: 'safe-1' })).user, 'body-user');
    const lm = await userOf({ litellm_metadata: { user: 'lm-user' }, metadata: { user_id: 'meta-user' } });
    assert.equal(lm.user, 'lm-user');
    assert.equal(lm.upstream.litellm_metadata, undefined, 'litellm_metadata never reaches the provider');
    const meta = await userOf({ metadata: { user_id: 'meta-user' }, safety_identifier: 'safe-1' });
    assert.equal(meta.user, 'meta-user');
    assert.deepEqual(meta.upstream.metadata, { user_id: 'meta-user' }, "the provider's own fields go as sent");
    const safe = await userOf({ safety_identifier: 'safe-1' });
    assert.equal(safe.user, 'safe-1');
    assert.equal(safe.upstream.safety_identifier, 'safe-1');
  });

  test('metadata values under secret-looking keys are redacted in the record', async () => {
    const { res } = await post('/v1/chat/completions', chat({ metadata: { spend_logs_metadata: { api_key: 'sk-leaked', db_password: 'hunter2', project: 'p' } } }));
    const rec = recordOf(res.headers.get('x-tagspend-request-id'));
    assert.deepEqual(rec.metadata, { api_key: '[REDACTED]', db_password: '[REDACTED]', project: 'p', cost_center: 'cc-42' });
  });

  test('a key with required tag prefixes refuses requests without one, and its model list is enforced', async () => {
    const missing = await post('/v1/chat/completions', chat(), { authorization: `Bearer ${KEY_STRICT}` });
    assert.equal(missing.res.status, 400);
    assert.match(missing.json!.error.message, /must carry a tag starting with "team:"/);
    assert.equal(recordOf(missing.res.headers.get('x-tagspend-request-id')).outcome, 'invalid_request');
    const ok = await post('/v1/chat/completions', chat({ tags: ['team:x'] }), { authorization: `Bearer ${KEY_STRICT}` });
    assert.equal(ok.res.status, 200);
    const wrongModel = await post('/v1/chat/completions', chat({ tags: ['team:x'], model: 'fast' }), { authorization: `Bearer ${KEY_STRICT}` });
    assert.equal(wrongModel.res.status, 403);
    assert.equal(wrongModel.json!.error.type, 'invalid_request_error');
  });
});

describe('bad input gets a status, an OpenAI error body and still one record', () => {
  const cases: [string, string | object, Record<string, string>, number, RegExp][] = [
    ['invalid JSON', '{"model": "mock/gpt-4o-mini", ', {}, 400, /not valid JSON/],
    ['tags not an array', chat({ tags: 'app:x' }), {}, 400, /tags must be an array/],
    ['a non-string tag', chat({ metadata: { tags: ['ok', 7] } }), {}, 400, /must be a string/],
    ['65 tags', chat({ tags: Array.from({ length: 65 }, (_, i) => `t:${i}`) }), {}, 400, /too many tags/],
    ['a 300-char tag', chat({ tags: ['x'.repeat(300)] }), {}, 400, /longer than 256/],
    ['metadata header not JSON', chat(), { 'x-litellm-spend-logs-metadata': 'nope' }, 400, /JSON object/],
    ['body over the limit', chat({ messages: [{ role: 'user', content: 'x'.repeat(70 * 1024) }] }), {}, 413, /limit/],
    ['unknown model', chat({ model: 'nowhere/some-model' }), {}, 404, /not routed/],
    ['missing key', chat(), { authorization: '' }, 401, /Missing API key/],
    ['wrong key', chat(), { authorization: 'Bearer sk-wrong-key-123456' }, 401, /Invalid API key/],
  ];
  for (const [name, body, headers, status, message] of cases) {
    test(`${name} → ${status}`, async () => {
      const before = tp.records().length;
      const { res, json } = await post('/v1/chat/completions', body, headers);
      assert.equal(res.status, status);
      assert.equal(typeof json!.error.message, 'string');
      assert.match(json!.error.message, message);
      assert.ok('type' in json!.error && 'param' in json!.error && 'code' in json!.error);
      const rec = recordOf(res.headers.get('x-tagspend-request-id'));
      assert.equal(rec.status, status);
      assert.equal(rec.outcome, 'invalid_request');
      assert.equal(rec.cost_usd, 0);
      assert.equal(tp.records().length, before + 1);
    });
  }
});

describe('upstream failures', () => {
  for (const status of [500, 429]) {
    test(`an upstream ${status} passes through with its status and an OpenAI error body`, async () => {
      const { res, json } = await post('/v1/chat/completions', chat({ model: `mock/error-${status}` }));
      assert.equal(res.status, status);
      assert.equal(typeof json!.error.message, 'string');
      if (status === 429) assert.equal(res.headers.get('retry-after'), '1');
      const rec = recordOf(res.headers.get('x-tagspend-request-id'));
      assert.equal(rec.outcome, 'upstream_error');
      assert.equal(rec.status, status);
      assert.equal(rec.cost_usd, 0);
    });
  }

  test('a provider that answers a streamed request with plain JSON is relayed whole, headers and usage kept', async () => {
    const answer = { id: 'x1', object: 'chat.completion', model: 'gpt-4o-mini', choices: [], usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 } };
    const plain = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'x-ratelimit-remaining-requests': '99', server: 'upstream' }).end(JSON.stringify(answer)));
    });
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    const other = await startTestProxy({ upstreamUrl: `http://127.0.0.1:${(plain.address() as AddressInfo).port}/v1` });
    try {
      const res = await fetch(`${other.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(chat({ stream: true })) });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), answer);
      assert.equal(res.headers.get('x-ratelimit-remaining-requests'), '99');
      assert.equal(res.headers.get('server'), null, 'hop-by-hop and server headers are not copied');
      assert.ok(Number(res.headers.get('x-tagspend-cost-usd')) > 0);
      const rec = other.records().find((r) => r.request_id === res.headers.get('x-tagspend-request-id'));
      assert.equal(rec?.outcome, 'success');
      assert.equal(rec?.stream, true);
      assert.deepEqual([rec?.prompt_tokens, rec?.completion_tokens, rec?.total_tokens], [11, 7, 18]);
    } finally {
      await other.close();
      plain.closeAllConnections();
      await new Promise((resolve) => plain.close(resolve));
    }
  });

  test('an unreachable provider is a 502 and recorded', async () => {
    const dead = await startMockUpstream();
    const url = dead.url;
    await dead.close();
    const other = await startTestProxy({ upstreamUrl: url, config: { upstream: { connect_timeout_ms: 2000 } } });
    try {
      const res = await fetch(`${other.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(chat()) });
      assert.equal(res.status, 502);
      const rec = other.records().find((r) => r.request_id === res.headers.get('x-tagspend-request-id'));
      assert.equal(rec?.outcome, 'upstream_error');
    } finally {
      await other.close();
    }
  });

  test('a provider that dies mid-stream ends the client stream and is recorded as an upstream error', async () => {
    const res = await fetch(`${tp.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY_SUPPORT}`, 'content-type': 'application/json' },
      body: JSON.stringify(chat({ stream: true, max_tokens: 50, mock_abort_after_chunks: 3 })),
    });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.ok(text.includes('data: '), 'the chunks before the failure reached the client');
    assert.equal(text.includes('[DONE]'), false);
    const rec = recordOf(res.headers.get('x-tagspend-request-id'));
    assert.equal(rec.outcome, 'upstream_error');
    assert.equal(rec.status, 200);
    assert.equal(rec.stream, true);
  });

  test('a model without a known price is recorded with cost null, never a guess', async () => {
    const { res, json } = await post('/v1/chat/completions', chat({ model: 'mock/brand-new-model-x' }));
    assert.equal(res.status, 200);
    assert.ok(json!.usage.total_tokens > 0);
    assert.equal(res.headers.get('x-tagspend-cost-usd'), null);
    const rec = recordOf(res.headers.get('x-tagspend-request-id'));
    assert.equal(rec.outcome, 'success');
    assert.equal(rec.cost_usd, null);
    assert.equal(rec.price_ref, null);
    assert.equal(rec.total_tokens, json!.usage.total_tokens);
  });

  test('a client that disconnects mid-stream aborts the upstream request and is recorded', async () => {
    const slow = await startMockUpstream({ chunkDelayMs: 30 });
    const other = await startTestProxy({ upstreamUrl: slow.url });
    try {
      const ac = new AbortController();
      const res = await fetch(`${other.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(chat({ stream: true, max_tokens: 200 })),
        signal: ac.signal,
      });
      const id = res.headers.get('x-tagspend-request-id');
      const reader = res.body!.getReader();
      await reader.read();
      ac.abort();
      const rec = await waitFor(() => other.records().find((r) => r.request_id === id), 'the disconnect record');
      assert.equal(rec.outcome, 'client_disconnect');
      assert.equal(rec.stream, true);
      assert.equal(other.records().filter((r) => r.request_id === id).length, 1);
    } finally {
      await other.close();
      await slow.close();
    }
  });

  test('a client that leaves while a non-streamed answer is pending aborts the upstream request and is recorded', async () => {
    let arrived!: () => void;
    let upstreamClosed!: () => void;
    const requestArrived = new Promise<void>((resolve) => (arrived = resolve));
    const upstreamAborted = new Promise<void>((resolve) => (upstreamClosed = resolve));
    // A provider that never answers: only the client leaving can end the request.
    const hang = createServer((req, res) => {
      req.resume();
      res.on('close', () => upstreamClosed());
      arrived();
    });
    await new Promise<void>((resolve) => hang.listen(0, '127.0.0.1', resolve));
    const other = await startTestProxy({ upstreamUrl: `http://127.0.0.1:${(hang.address() as AddressInfo).port}/v1` });
    try {
      const ac = new AbortController();
      const pending = fetch(`${other.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(chat()),
        signal: ac.signal,
      }).catch((err: unknown) => err);
      await requestArrived;
      ac.abort();
      assert.equal(((await pending) as Error).name, 'AbortError');
      await upstreamAborted;
      const rec = await waitFor(() => other.records().find((r) => r.outcome === 'client_disconnect'), 'the disconnect record');
      assert.equal(rec.status, 0);
      assert.equal(rec.stream, false);
      assert.equal(rec.cost_usd, null);
      assert.equal(other.records().length, 1);
    } finally {
      await other.close();
      hang.closeAllConnections();
      await new Promise<void>((resolve) => hang.close(() => resolve()));
    }
  });
});

describe('privacy', () => {
  test('the spend log never contains a proxy key, the master key or an Authorization value', async () => {
    await post('/v1/chat/completions', chat(), { authorization: `Bearer ${MASTER}` });
    await post('/v1/chat/completions', chat(), { authorization: 'Bearer sk-wrong-key-123456' });
    const raw = JSON.stringify(tp.records());
    for (const secret of [KEY_SUPPORT, KEY_STRICT, MASTER, 'sk-wrong-key-123456', 'Bearer sk-']) {
      assert.equal(raw.includes(secret), false, `log contains ${secret}`);
    }
  });

  test('hash_user_ids stores the same HMAC for the same user and never the raw id', async () => {
    const m = await startMockUpstream();
    const other = await startTestProxy({
      upstreamUrl: m.url,
      config: { privacy: { hash_user_ids: true, user_id_salt: 'a-long-enough-salt-value' } },
    });
    try {
      for (const user of ['alice@example.com', 'alice@example.com', 'bob']) {
        await fetch(`${other.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(chat({ user })) });
      }
      const users = other.records().map((r) => r.user);
      assert.equal(users.length, 3);
      assert.match(users[0]!, /^[0-9a-f]{64}$/);
      assert.equal(users[0], users[1]);
      assert.notEqual(users[0], users[2]);
      assert.equal(JSON.stringify(other.records()).includes('alice'), false);
    } finally {
      await other.close();
      await m.close();
    }
  });
});

describe('operations endpoints', () => {
  test('health and metrics answer', async () => {
    assert.equal((await fetch(`${tp.url}/health/liveliness`)).status, 200);
    const ready = await fetch(`${tp.url}/health/readiness`);
    assert.equal(ready.status, 200);
    const metrics = await (await fetch(`${tp.url}/metrics`)).text();
    assert.match(metrics, /tagspend_requests_total\{endpoint="\/v1\/chat\/completions",outcome="success"\} \d+/);
    assert.match(metrics, /tagspend_spend_records_written_total \d+/);
  });

  test('an unknown route is an OpenAI-shaped 404', async () => {
    const res = await fetch(`${tp.url}/v1/nothing`, { method: 'POST' });
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as any).error.type, 'invalid_request_error');
  });
});
