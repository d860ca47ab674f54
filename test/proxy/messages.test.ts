// Anthropic's Messages API through the proxy with the official SDK and raw HTTP: records,
// prices to the cache tier, attribution, routing, errors in Anthropic's shape, stream faults.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import Anthropic from '@anthropic-ai/sdk';
import type { BudgetGate } from '../../src/budget/gate.ts';
import { BudgetExceededError } from '../../src/errors.ts';
import { startMockUpstream } from '../../src/mock/upstream.ts';
import { startTestProxy, waitFor, type TestProxy } from '../helpers/proxy.ts';
import type { SpendRecord } from '../../src/spend/record.ts';

const MASTER = 'sk-master-0123456789';
const KEY_CODE = 'sk-claude-code-abcdef123456';
const KEY_LIMITED = 'sk-limited-000000000000';
const PROVIDER_KEY = 'sk-ant-provider-key-999';

/** Blocks any request tagged team:broke, as the budget gate does for a tag over budget. */
const gate: BudgetGate = {
  admit(req) {
    if (req.tags.includes('team:broke')) throw new BudgetExceededError('Tag', 'team:broke', 10.5, 10, 3600);
    return null;
  },
  settle() {},
};

type Mock = Awaited<ReturnType<typeof startMockUpstream>>;
let mock: Mock;
let tp: TestProxy;

before(async () => {
  mock = await startMockUpstream();
  tp = await startTestProxy({
    upstreamUrl: mock.url,
    env: { MOCK_KEY: PROVIDER_KEY },
    config: {
      master_key: MASTER,
      max_body_bytes: 256 * 1024,
      providers: {
        mock: { base_url: mock.url, anthropic_native: true, api_key_env: 'MOCK_KEY' },
        plain: { base_url: mock.url },
      },
      model_aliases: { 'claude-fast': 'mock/claude-haiku-4-5', 'plain-claude': 'plain/claude-haiku-4-5' },
      keys: [
        { key: KEY_CODE, alias: 'claude-code', tags: ['app:claude-code'] },
        { key: KEY_LIMITED, alias: 'limited', allowed_models: ['claude-fast'] },
      ],
    },
    proxyOptions: { budget: gate },
  });
});

after(async () => {
  await tp?.close();
  await mock?.close();
});

function sdk(key = KEY_CODE, extra: Partial<ConstructorParameters<typeof Anthropic>[0]> = {}) {
  return new Anthropic({ apiKey: key, baseURL: tp.url, maxRetries: 0, ...extra });
}

function recordOf(requestId: string | null): SpendRecord {
  assert.ok(requestId, 'response carries x-tagspend-request-id');
  const found = tp.records().filter((r) => r.request_id === requestId);
  assert.equal(found.length, 1, `exactly one record for ${requestId}`);
  return found[0]!;
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${tp.url}${path}`, {
    method: 'POST',
    headers: { 'x-api-key': KEY_CODE, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { res, text, json: text.startsWith('{') ? (JSON.parse(text) as Record<string, any>) : null };
}

const ask = (extra: Record<string, unknown> = {}) => ({
  model: 'claude-opus-5-5',
  max_tokens: 1024,
  messages: [{ role: 'user', content: 'Summarise the quarterly numbers in one line, please.' }],
  ...extra,
});

/** USD from published per-1M rates, by hand. */
function byHand(rates: { input: number; output: number; read: number; w5: number; w1h: number }, u: { input: number; read: number; w5: number; w1h: number; out: number }): number {
  const usd = (u.input * rates.input + u.read * rates.read + u.w5 * rates.w5 + u.w1h * rates.w1h + u.out * rates.output) / 1e6;
  return Math.round(usd * 1e10) / 1e10;
}

describe('the Anthropic SDK through the proxy', () => {
  test('a non-streamed message is recorded once, with cache reads and writes in the record and priced to the cache tier', async () => {
    const { data, response } = await sdk()
      .messages.create(ask({ mock_cache_read_tokens: 3000, mock_cache_write_tokens: 800, mock_cache_write_1h_tokens: 1200, metadata: { user_id: 'customer_7' } }) as any)
      .withResponse();
    const rec = recordOf(response.headers.get('x-tagspend-request-id'));
    const u = data.usage;
    assert.equal(u.cache_read_input_tokens, 3000);
    assert.equal(u.cache_creation_input_tokens, 2000);
    assert.equal(rec.schema, 2);
    assert.equal(rec.endpoint, '/v1/messages');
    assert.equal(rec.provider, 'mock');
    assert.equal(rec.model, 'claude-opus-5-5');
    assert.equal(rec.upstream_model, data.model);
    assert.equal(rec.outcome, 'success');
    assert.equal(rec.prompt_tokens, u.input_tokens + 3000 + 2000, 'prompt_tokens counts every input token, cache included');
    assert.equal(rec.cached_tokens, 3000);
    assert.equal(rec.cache_write_tokens, 2000);
    assert.equal(rec.cache_write_1h_tokens, 1200);
    assert.equal(rec.completion_tokens, u.output_tokens);
    assert.equal(rec.total_tokens, rec.prompt_tokens + rec.completion_tokens);
    assert.equal(rec.user, 'customer_7');
    assert.deepEqual(rec.tags, ['app:claude-code']);
    assert.equal(rec.key_alias, 'claude-code');
    // Opus 5.5: $4 input, $0.20 cache reads, $5 5-minute and $8 1-hour writes, $20 output per 1M.
    const expected = byHand({ input: 4, output: 20, read: 0.2, w5: 5, w1h: 8 }, { input: u.input_tokens, read: 3000, w5: 800, w1h: 1200, out: u.output_tokens });
    assert.equal(rec.cost_usd, expected);
    assert.equal(Number(response.headers.get('x-tagspend-cost-usd')), expected);
  });

  test('four Claude models are priced to their published rates, 5-minute and 1-hour writes and reads included', async () => {
    const rates: Record<string, { input: number; output: number; read: number; w5: number; w1h: number }> = {
      'claude-sonnet-5-5': { input: 2, output: 10, read: 0.1, w5: 2.5, w1h: 4 },
      'claude-haiku-4-5': { input: 1, output: 5, read: 0.1, w5: 1.25, w1h: 2 },
      'claude-fable-5-1': { input: 10, output: 50, read: 0.25, w5: 12.5, w1h: 20 },
      'claude-opus-5': { input: 5, output: 25, read: 0.5, w5: 6.25, w1h: 10 },
    };
    for (const [model, r] of Object.entries(rates)) {
      const body = ask({ model, mock_cache_read_tokens: 5000, mock_cache_write_tokens: 700, mock_cache_write_1h_tokens: 300, mock_output_tokens: 40 });
      const { data, response } = await sdk().messages.create(body as any).withResponse();
      const rec = recordOf(response.headers.get('x-tagspend-request-id'));
      assert.equal(rec.cost_usd, byHand(r, { input: data.usage.input_tokens, read: 5000, w5: 700, w1h: 300, out: 40 }), model);
      assert.match(rec.price_ref ?? '', /^(genai-prices|tagspend):/);
    }
  });

  test('a prompt above 200k tokens is priced at the long-context rates (Sonnet 4.5)', async () => {
    const { data, response } = await sdk()
      .messages.create(ask({ model: 'claude-sonnet-4-5', mock_cache_read_tokens: 150_000, mock_cache_write_tokens: 60_000, mock_output_tokens: 100 }) as any)
      .withResponse();
    const rec = recordOf(response.headers.get('x-tagspend-request-id'));
    assert.ok(rec.prompt_tokens > 200_000);
    // Above 200k input tokens Sonnet 4.5 costs $6 input, $0.60 reads, $7.50 writes, $22.50 output per 1M.
    assert.equal(rec.cost_usd, byHand({ input: 6, output: 22.5, read: 0.6, w5: 7.5, w1h: 12 }, { input: data.usage.input_tokens, read: 150_000, w5: 60_000, w1h: 0, out: 100 }));
  });

  test('a streamed message passes every event through and is recorded from message_start and the last message_delta', async () => {
    const stream = sdk().messages.stream(ask({ mock_cache_read_tokens: 2048, mock_cache_write_1h_tokens: 512, mock_output_tokens: 30 }) as any);
    const types: string[] = [];
    stream.on('streamEvent', (e) => types.push(e.type));
    const final = await stream.finalMessage();
    const { response } = await stream.withResponse();
    assert.deepEqual(types.slice(0, 3), ['message_start', 'content_block_start', 'content_block_delta']);
    assert.equal(types.at(-1), 'message_stop');
    assert.equal(types.filter((t) => t === 'content_block_delta').length, 30);
    assert.equal(final.usage.output_tokens, 30);
    const rec = recordOf(response.headers.get('x-tagspend-request-id'));
    assert.equal(rec.stream, true);
    assert.equal(rec.outcome, 'success');
    assert.equal(rec.completion_tokens, 30);
    assert.equal(rec.cached_tokens, 2048);
    assert.equal(rec.cache_write_tokens, 512);
    assert.equal(rec.cache_write_1h_tokens, 512);
    assert.equal(rec.cost_usd, byHand({ input: 4, output: 20, read: 0.2, w5: 5, w1h: 8 }, { input: final.usage.input_tokens, read: 2048, w5: 0, w1h: 512, out: 30 }));
  });

  test('count_tokens (with and without /v1) answers and is recorded at cost 0', async () => {
    const { data, response } = await sdk().messages.countTokens(ask() as any).withResponse();
    assert.ok(data.input_tokens > 0);
    const rec = recordOf(response.headers.get('x-tagspend-request-id'));
    assert.equal(rec.endpoint, '/v1/messages/count_tokens');
    assert.equal(rec.outcome, 'success');
    assert.equal(rec.cost_usd, 0);
    assert.equal(rec.prompt_tokens, 0);
    assert.equal(rec.error, null);
    const bare = await post('/messages/count_tokens', ask());
    assert.equal(bare.res.status, 200);
    assert.equal(recordOf(bare.res.headers.get('x-tagspend-request-id')).endpoint, '/v1/messages/count_tokens');
  });

  test('both key headers are tagspend keys; the provider gets its own key as x-api-key and never the client\'s', async () => {
    // The SDK sends Authorization: Bearer and its own anthropic-version, which is forwarded as sent.
    await sdk().messages.create(ask() as any);
    let seen = mock.lastRequest!.headers;
    assert.equal(seen['x-api-key'], PROVIDER_KEY);
    assert.equal(seen.authorization, undefined);
    assert.equal(seen['anthropic-version'], '2026-10-21');
    const { res } = await post('/v1/messages', ask(), { 'anthropic-beta': 'prompt-caching-2024-07-31' });
    assert.equal(res.status, 200);
    seen = mock.lastRequest!.headers;
    assert.equal(seen['x-api-key'], PROVIDER_KEY);
    assert.equal(seen['anthropic-version'], '2023-06-01', 'a default version when the client sent none');
    assert.equal(seen['anthropic-beta'], 'prompt-caching-2024-07-31');
    assert.ok(!JSON.stringify(seen).includes(KEY_CODE));
  });
});

describe('attribution on the Messages API', () => {
  test('metadata.tags and spend_logs_metadata are read and removed; metadata.user_id goes upstream and is the end user', async () => {
    const { res } = await post(
      '/v1/messages',
      ask({ metadata: { user_id: 'u-123', tags: ['team:search'], spend_logs_metadata: { project: 'atlas' } } }),
      { 'x-litellm-tags': 'env:prod' },
    );
    assert.equal(res.status, 200);
    const upstream = mock.lastRequest!.body as Record<string, any>;
    assert.deepEqual(upstream.metadata, { user_id: 'u-123' });
    const rec = recordOf(res.headers.get('x-tagspend-request-id'));
    assert.deepEqual(rec.tags, ['team:search', 'env:prod', 'app:claude-code']);
    assert.deepEqual(rec.metadata, { project: 'atlas' });
    assert.equal(rec.user, 'u-123');
  });

  test('a user header wins over metadata.user_id', async () => {
    const { res } = await post('/v1/messages', ask({ metadata: { user_id: 'u-123' } }), { 'x-litellm-end-user-id': 'billing-user' });
    assert.equal(recordOf(res.headers.get('x-tagspend-request-id')).user, 'billing-user');
  });

  test("Claude Code's JSON user id gives the account (else the device) as user and the session as metadata session_id", async () => {
    const userId = JSON.stringify({ device_id: 'd'.repeat(64), account_uuid: '8a1f0c2e-0000-4000-8000-000000000001', session_id: '5b7e-session-1' });
    const first = await post('/v1/messages', ask({ metadata: { user_id: userId } }));
    const rec = recordOf(first.res.headers.get('x-tagspend-request-id'));
    assert.equal(rec.user, '8a1f0c2e-0000-4000-8000-000000000001');
    assert.equal(rec.metadata.session_id, '5b7e-session-1');
    assert.equal((mock.lastRequest!.body as any).metadata.user_id, userId, 'forwarded untouched');

    const noAccount = JSON.stringify({ device_id: 'dev-42', account_uuid: '', session_id: 's-2' });
    const second = await post('/v1/messages', ask({ metadata: { user_id: noAccount } }), { 'x-claude-code-session-id': 'header-session' });
    const rec2 = recordOf(second.res.headers.get('x-tagspend-request-id'));
    assert.equal(rec2.user, 'dev-42');
    assert.equal(rec2.metadata.session_id, 'header-session', 'the session header wins over the JSON');
  });

  test("LiteLLM's litellm_metadata (its metadata on /v1/messages) gives tags, metadata and the user, and never reaches Anthropic", async () => {
    const { res } = await post(
      '/v1/messages',
      ask({ metadata: { user_id: 'anthropic-user' }, litellm_metadata: { tags: ['team:lm'], spend_logs_metadata: { project: 'p1' }, user: 'lm-user' } }),
    );
    assert.equal(res.status, 200);
    const rec = recordOf(res.headers.get('x-tagspend-request-id'));
    assert.ok(rec.tags.includes('team:lm'));
    assert.equal(rec.metadata.project, 'p1');
    assert.equal(rec.user, 'lm-user', 'litellm_metadata.user comes before metadata.user_id, as in LiteLLM');
    const upstream = mock.lastRequest!.body as Record<string, any>;
    assert.equal(upstream.litellm_metadata, undefined);
    assert.deepEqual(upstream.metadata, { user_id: 'anthropic-user' });
  });
});

describe('routing on the Messages API', () => {
  test('bare Claude ids go to the Anthropic-native provider; prefixes and aliases work; allowed_models applies', async () => {
    assert.equal((await post('/v1/messages', ask({ model: 'claude-haiku-4-5' }))).res.status, 200);
    assert.equal((mock.lastRequest!.body as any).model, 'claude-haiku-4-5');
    const prefixed = await post('/v1/messages', ask({ model: 'mock/claude-haiku-4-5' }));
    assert.equal(recordOf(prefixed.res.headers.get('x-tagspend-request-id')).provider, 'mock');
    assert.equal((mock.lastRequest!.body as any).model, 'claude-haiku-4-5');
    const aliased = await post('/v1/messages', ask({ model: 'claude-fast' }), { 'x-api-key': KEY_LIMITED });
    assert.equal(aliased.res.status, 200);
    const refused = await post('/v1/messages', ask({ model: 'claude-opus-5-5' }), { 'x-api-key': KEY_LIMITED });
    assert.equal(refused.res.status, 403);
    assert.deepEqual(Object.keys(refused.json!), ['type', 'error']);
    assert.equal(refused.json!.error.type, 'permission_error');
  });
});

describe('errors on the Messages API are in Anthropic\'s shape', () => {
  function assertAnthropicError(r: { res: Response; json: Record<string, any> | null }, status: number, type: string, message: RegExp) {
    assert.equal(r.res.status, status);
    assert.equal(r.json?.type, 'error');
    assert.equal(r.json?.error?.type, type);
    assert.match(r.json?.error?.message ?? '', message);
    const rec = recordOf(r.res.headers.get('x-tagspend-request-id'));
    assert.equal(rec.status, status);
    assert.equal(rec.endpoint, '/v1/messages');
  }

  test('auth, attribution, unrouted model, invalid JSON and body too large', async () => {
    assertAnthropicError(await post('/v1/messages', ask(), { 'x-api-key': 'sk-wrong-key-000000' }), 401, 'authentication_error', /Invalid API key/);
    assertAnthropicError(await post('/v1/messages', ask({ metadata: { tags: [42] } })), 400, 'invalid_request_error', /metadata\.tags/);
    assertAnthropicError(await post('/v1/messages', ask({ model: 'plain-claude' })), 404, 'not_found_error', /does not serve Anthropic's Messages API/);
    assertAnthropicError(await post('/v1/messages', '{"model": '), 400, 'invalid_request_error', /not valid JSON/);
    const big = await post('/v1/messages', ask({ messages: [{ role: 'user', content: 'x'.repeat(300 * 1024) }] }));
    assert.equal(big.res.status, 413);
    assert.equal(big.json?.error?.type, 'request_too_large');
  });

  test('a budget block is a 429 with Retry-After and x-should-retry: false, which the SDK does not retry', async () => {
    const r = await post('/v1/messages', ask(), { 'x-litellm-tags': 'team:broke' });
    assertAnthropicError(r, 429, 'rate_limit_error', /Budget has been exceeded! Tag=team:broke/);
    assert.equal(r.res.headers.get('retry-after'), '3600');
    assert.equal(r.res.headers.get('x-should-retry'), 'false');
    assert.equal(recordOf(r.res.headers.get('x-tagspend-request-id')).outcome, 'blocked');
    const before = mock.requests;
    const err = await sdk(KEY_CODE, { maxRetries: 2, defaultHeaders: { 'x-litellm-tags': 'team:broke' } })
      .messages.create(ask() as any)
      .catch((e: unknown) => e);
    assert.ok(err instanceof Anthropic.RateLimitError);
    assert.match(err.message, /Budget has been exceeded/);
    assert.equal(mock.requests, before, 'blocked before the provider');
  });

  test('provider errors pass through with their status and type', async () => {
    const err = await sdk().messages.create(ask({ model: 'error-529' }) as any).catch((e: unknown) => e);
    assert.ok(err instanceof Anthropic.APIError);
    assert.equal(err.status, 529);
    assert.equal((err.error as any)?.error?.type, 'overloaded_error');
    const rec = tp.records().at(-1)!;
    assert.equal(rec.outcome, 'upstream_error');
    assert.equal(rec.status, 529);
  });

  test('an unreachable provider is a 502 in Anthropic\'s shape', async () => {
    const dead = await startTestProxy({
      upstreamUrl: 'http://127.0.0.1:9/v1',
      config: { providers: { anthropic: { base_url: 'http://127.0.0.1:9/v1', api_key: 'sk-x-00000000' } }, upstream: { connect_timeout_ms: 2000 } },
    });
    try {
      const res = await fetch(`${dead.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ask()) });
      const json = (await res.json()) as Record<string, any>;
      assert.equal(res.status, 502);
      assert.equal(json.type, 'error');
      assert.equal(json.error.type, 'api_error');
      assert.match(json.error.message, /unreachable/);
      assert.equal(dead.records().at(-1)!.outcome, 'upstream_error');
    } finally {
      await dead.close();
    }
  });
});

/** Reads a raw SSE response as text, optionally closing it after `closeAfterBytes`. */
function rawStream(body: unknown): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(`${tp.url}/v1/messages`);
    const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'x-api-key': KEY_CODE, 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe('stream faults on the Messages API', () => {
  test('an unknown event type and ping pass through untouched', async () => {
    const { text, headers } = await rawStream(ask({ stream: true, mock_unknown_event: true, mock_output_tokens: 3 }));
    assert.match(text, /event: mock_future_event\ndata: \{"type":"mock_future_event","note":"an event type clients must ignore"\}\n\n/);
    assert.match(text, /event: ping\ndata: \{"type":"ping"\}\n\n/);
    assert.equal(recordOf(headers['x-tagspend-request-id'] as string).outcome, 'success');
  });

  test('an error event mid-stream (overloaded) is recorded as an upstream error with the usage seen so far', async () => {
    const { text, headers } = await rawStream(ask({ stream: true, mock_overload_after_events: 4, mock_cache_read_tokens: 1000 }));
    assert.match(text, /event: error\ndata: \{"type":"error","error":\{"type":"overloaded_error","message":"Overloaded"\}\}/);
    const rec = recordOf(headers['x-tagspend-request-id'] as string);
    assert.equal(rec.outcome, 'upstream_error');
    assert.equal(rec.error, 'Overloaded');
    assert.equal(rec.cached_tokens, 1000, 'usage from message_start');
    assert.ok(rec.prompt_tokens > 1000);
    assert.ok(rec.cost_usd! > 0, 'the input already used is priced');
  });

  test('a client that disconnects mid-stream aborts the upstream call and is recorded as client_disconnect with the usage so far', async () => {
    const before = tp.records().length;
    await new Promise<void>((resolve, reject) => {
      const url = new URL(`${tp.url}/v1/messages`);
      const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'x-api-key': KEY_CODE, 'content-type': 'application/json' } }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => {});
      req.end(JSON.stringify(ask({ stream: true, mock_output_tokens: 200, mock_chunk_delay_ms: 20, mock_cache_read_tokens: 700 })));
      setTimeout(() => reject(new Error('no data')), 10_000).unref();
    });
    const rec = await waitFor(() => tp.records().slice(before).find((r) => r.outcome === 'client_disconnect'), 'the disconnect record');
    assert.equal(rec.endpoint, '/v1/messages');
    assert.equal(rec.cached_tokens, 700);
    assert.ok(rec.completion_tokens < 200);
    assert.ok(rec.cost_usd! > 0);
  });

  test('a stream cut off by the provider before message_stop is an upstream error', async () => {
    const { headers } = await rawStream(ask({ stream: true, mock_abort_after_chunks: 3 }));
    const rec = recordOf(headers['x-tagspend-request-id'] as string);
    assert.equal(rec.outcome, 'upstream_error');
    assert.ok(rec.prompt_tokens > 0);
  });
});
