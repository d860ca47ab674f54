// Client-chosen strings used as lookup keys (model names, tags, metadata keys, paths) must not
// reach Object.prototype: `constructor`, `__proto__`, `toString` are ordinary names.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BudgetEnforcer } from '../../src/budget/gate.ts';
import type { BlockList } from '../../src/budget/blocklist.ts';
import { attribute } from '../../src/proxy/attribution.ts';
import { startMockUpstream, type MockUpstream } from '../../src/mock/upstream.ts';
import { startTestProxy, type TestProxy } from '../helpers/proxy.ts';

const PROTO_NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'];

describe('model names that are Object.prototype members', () => {
  let mock: MockUpstream;
  let tp: TestProxy;
  before(async () => {
    mock = await startMockUpstream();
    tp = await startTestProxy({ upstreamUrl: mock.url, config: { model_aliases: { fast: 'mock/gpt-4o-mini' } } });
  });
  after(async () => {
    await tp?.close();
    await mock?.close();
  });

  for (const name of PROTO_NAMES) {
    test(`model "${name}" is an unrouted model (404 model_not_found), recorded once`, async () => {
      const res = await fetch(`${tp.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: name, messages: [{ role: 'user', content: 'hi' }] }),
      });
      const body = (await res.json()) as { error: { code: string; param: string } };
      assert.equal(res.status, 404);
      assert.equal(body.error.code, 'model_not_found');
      assert.equal(body.error.param, 'model');
      const id = res.headers.get('x-tagspend-request-id');
      const recs = tp.records().filter((r) => r.request_id === id);
      assert.equal(recs.length, 1);
      assert.equal(recs[0]!.outcome, 'invalid_request');
      assert.equal(recs[0]!.model, name);
    });
  }

  test('an alias still routes, and a prototype name with a provider prefix goes upstream as that model', async () => {
    for (const model of ['fast', 'mock/constructor']) {
      const res = await fetch(`${tp.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
      });
      assert.equal(res.status, 200, model);
      await res.arrayBuffer();
    }
    assert.equal((mock.lastRequest?.body as { model: string }).model, 'constructor');
  });
});

test('a tag named like a prototype member is not budgeted by a block-list that does not list it', () => {
  const list: BlockList = {
    schema: 1,
    generated_at: '2026-11-20T12:00:00.000Z',
    watermark: null,
    timezone: 'UTC',
    tags: { 'app:x': { spend: 1, max_budget: 10, budget_duration: '1d', window_start: '2026-11-20T00:00:00.000Z', reset_at: '2026-11-21T00:00:00.000Z', blocked: false } },
    seen_tags: [],
    customers: [],
    keys: [],
  };
  // Definitions not loaded yet: the block-list's budgets stand in.
  const gate = new BudgetEnforcer({ definitions: { loaded: false, get: () => undefined }, blockList: { current: list } }, 'UTC');
  const now = Date.parse('2026-11-20T12:00:00Z');
  const req = (tags: string[]) => ({ tags, customer: null, key: null, estimate: { total: 0, input: 0, inputTokens: 0, outputTokens: 0 }, model: 'm' });
  for (const name of PROTO_NAMES) {
    assert.equal(gate.admit(req([name]), now), null, `${name}: no budget touched`);
    assert.equal(gate.status('tag', name, now), null, name);
  }
  assert.equal(gate.status('tag', 'app:x', now)?.max_budget, 10);
});

test('metadata keys named like prototype members are kept as ordinary keys', () => {
  // JSON.parse makes "__proto__" an own property, as a client's body would.
  const body = JSON.parse('{"metadata":{"spend_logs_metadata":{"__proto__":"a","constructor":"b","toString":"c"}}}') as Record<string, unknown>;
  const attr = attribute(body, { 'x-litellm-spend-logs-metadata': '{"__proto__":"h","valueOf":"d"}' }, null);
  assert.deepEqual(
    Object.entries(attr.metadata).sort(),
    [['__proto__', 'h'], ['constructor', 'b'], ['toString', 'c'], ['valueOf', 'd']],
  );
  assert.equal(JSON.parse(JSON.stringify(attr.metadata)).__proto__, 'h');
});
