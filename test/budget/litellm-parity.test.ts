// What a LiteLLM client sees, checked against LiteLLM's own code (docs/budgets.md, "LiteLLM
// parity"): the budget 429 body, the cost headers and their parts, the call id, /tag/info's shape.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startMockUpstream } from '../../src/mock/upstream.ts';
import { startTestProxy, type TestProxy } from '../helpers/proxy.ts';

const MASTER = 'sk-master-0123456789';
let mock: Awaited<ReturnType<typeof startMockUpstream>>;
let tp: TestProxy;

before(async () => {
  mock = await startMockUpstream();
  tp = await startTestProxy({ upstreamUrl: mock.url, config: { master_key: MASTER } });
});

after(async () => {
  await tp?.close();
  await mock?.close();
});

function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${tp.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

describe('LiteLLM parity', () => {
  test('the budget 429 body is exactly LiteLLM\'s: type budget_exceeded, code "429", param null', async () => {
    assert.equal((await post('/tag/new', { name: 'app:zero', max_budget: 0, budget_duration: '1d' })).status, 200);
    const res = await post('/v1/chat/completions', { model: 'mock/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }, { 'x-litellm-tags': 'app:zero' });
    assert.equal(res.status, 429);
    assert.deepEqual(await res.json(), {
      error: { message: 'Budget has been exceeded! Tag=app:zero Current cost: 0, Max budget: 0', type: 'budget_exceeded', param: null, code: '429' },
    });
    assert.equal(res.headers.get('x-should-retry'), 'false');
    assert.equal(res.headers.get('x-litellm-call-id'), res.headers.get('x-tagspend-request-id'));
  });

  test('a non-streamed answer carries x-litellm-response-cost and its parts, which add up to x-tagspend-cost-usd', async () => {
    const res = await post('/v1/chat/completions', {
      model: 'mock/gpt-5-mini',
      messages: [{ role: 'user', content: 'Summarise this long document for me, please. '.repeat(40) }],
      max_tokens: 300,
      mock_cached_tokens: 200,
      mock_reasoning_tokens: 120,
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as any;
    const h = (n: string) => res.headers.get(n);
    const total = Number(h('x-tagspend-cost-usd'));
    assert.ok(total > 0);
    assert.equal(h('x-litellm-response-cost'), h('x-tagspend-cost-usd'));
    const parts = ['input', 'cache-read', 'output'].map((p) => Number(h(`x-litellm-response-cost-${p}`)));
    assert.ok(Math.abs(parts.reduce((a, b) => a + b, 0) - total) < 1e-9, `${parts} add up to ${total}`);
    // gpt-5-mini: $0.25 input, $0.025 cached, $2 output per 1M tokens.
    const u = body.usage;
    assert.equal(Number(h('x-litellm-response-cost-cache-read')), (u.prompt_tokens_details.cached_tokens * 0.025) / 1e6);
    assert.equal(Number(h('x-litellm-response-cost-reasoning')), (120 * 2) / 1e6, 'reasoning: a part of output');
    assert.equal(h('x-litellm-response-cost-cache-creation'), null, 'a zero part is not sent');
    const rec = tp.records().find((r) => r.request_id === h('x-litellm-call-id'))!;
    assert.equal(rec.cost_usd, total, 'x-litellm-call-id is the request id of the record');
  });

  test('x-litellm-call-id equals the request id on streamed answers and errors too', async () => {
    const stream = await post('/v1/chat/completions', { model: 'mock/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true });
    await stream.text();
    const bad = await post('/v1/chat/completions', { messages: [] });
    await bad.text();
    for (const res of [stream, bad]) {
      const id = res.headers.get('x-tagspend-request-id');
      assert.match(id ?? '', /^[0-9a-f-]{36}$/);
      assert.equal(res.headers.get('x-litellm-call-id'), id);
      assert.ok(tp.records().some((r) => r.request_id === id));
    }
    assert.equal(stream.headers.get('x-litellm-response-cost'), null, 'a stream\'s headers leave before its cost is known');
  });

  test('/tag/info (POST, LiteLLM\'s) answers with an object keyed by tag name; GET keeps tagspend\'s list', async () => {
    await post('/tag/new', { name: 'team:lite', description: 'a team', max_budget: 5, soft_budget: 4, budget_duration: '1mo' });
    const res = await post('/tag/info', { names: ['team:lite', 'app:zero'] });
    const info = (await res.json()) as any;
    assert.deepEqual(Object.keys(info).sort(), ['app:zero', 'team:lite']);
    const t = info['team:lite'];
    assert.equal(t.name, 'team:lite');
    assert.equal(t.description, 'a team');
    assert.deepEqual(t.models, []);
    assert.deepEqual(t.litellm_budget_table, { max_budget: 5, soft_budget: 4, budget_duration: '1mo', budget_reset_at: t.budget_reset_at });
    assert.match(t.created_at, /Z$/);
    assert.equal(t.created_by, 'master');
    const list = (await (await fetch(`${tp.url}/tag/info?names=team:lite`, { headers: { authorization: `Bearer ${MASTER}` } })).json()) as any[];
    assert.ok(Array.isArray(list));
    assert.equal(list[0].name, 'team:lite');
  });
});
