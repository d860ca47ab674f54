import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMockUpstream } from '../../src/mock/upstream.ts';
import { startTestProxy, type TestProxy } from '../helpers/proxy.ts';

const MASTER = 'sk-master-0123456789';
const KEY = 'sk-app-key-0123456789';

let mock: Awaited<ReturnType<typeof startMockUpstream>>;
let tp: TestProxy;

before(async () => {
  mock = await startMockUpstream();
  tp = await startTestProxy({ upstreamUrl: mock.url, config: { master_key: MASTER, keys: [{ key: KEY, alias: 'app' }] } });
});

after(async () => {
  await tp?.close();
  await mock?.close();
});

async function call(method: string, path: string, body?: unknown, key = MASTER) {
  const res = await fetch(`${tp.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as any };
}

describe('tag admin API', () => {
  test('creates a tag, stores it under control/tags/ and shows its budget window', async () => {
    const made = await call('POST', '/tag/new', { name: 'app:alpha', description: 'alpha app', max_budget: 12.5, budget_duration: '1mo' });
    assert.equal(made.status, 200);
    assert.equal(made.json.name, 'app:alpha');
    assert.equal(made.json.max_budget, 12.5);
    assert.equal(made.json.spend, 0);
    assert.equal(made.json.blocked, false);
    assert.match(made.json.window_start, /^\d{4}-\d{2}-01T00:00:00\.000Z$/);
    assert.match(made.json.budget_reset_at, /^\d{4}-\d{2}-01T00:00:00\.000Z$/);
    // The proxy's own store (local, under data_dir) holds the definition, name URL-encoded.
    const stored = JSON.parse(readFileSync(join(tp.dataDir, 'store', 'control', 'tags', 'app%3Aalpha.json'), 'utf8'));
    assert.equal(stored.max_budget, 12.5);
    assert.equal(stored.created_at, made.json.created_at);
    const info = await call('GET', '/tag/info?names=app:alpha');
    assert.equal(info.status, 200);
    assert.deepEqual(info.json.map((t: any) => [t.name, t.description, t.budget_duration, t.reconciled_spend, t.unreconciled_spend]), [
      ['app:alpha', 'alpha app', '1mo', 0, 0],
    ]);
    // POST is LiteLLM's /tag/info: an object keyed by tag name, LiteLLM's fields beside ours.
    const postInfo = await call('POST', '/tag/info', { names: ['app:alpha'] });
    assert.deepEqual(Object.keys(postInfo.json), ['app:alpha']);
    const lite = postInfo.json['app:alpha'];
    assert.deepEqual([lite.name, lite.description, lite.models, lite.model_info], ['app:alpha', 'alpha app', [], {}]);
    assert.deepEqual(lite.litellm_budget_table, { max_budget: 12.5, soft_budget: null, budget_duration: '1mo', budget_reset_at: made.json.budget_reset_at });
    assert.equal(lite.spend, info.json[0].spend);
  });

  test('update changes only the given fields; delete removes the tag', async () => {
    await call('POST', '/tag/new', { name: 'team:beta', max_budget: 1, budget_duration: '1d' });
    const up = await call('POST', '/tag/update', { name: 'team:beta', max_budget: 5 });
    assert.equal(up.status, 200);
    assert.equal(up.json.max_budget, 5);
    assert.equal(up.json.budget_duration, '1d');
    assert.ok(up.json.updated_at >= up.json.created_at);
    const del = await call('POST', '/tag/delete', { name: 'team:beta' });
    assert.deepEqual(del, { status: 200, json: { deleted: ['team:beta'] } });
    assert.equal((await call('GET', '/tag/info?names=team:beta')).status, 404);
  });

  test('list shows defined tags and tags seen in traffic without a definition', async () => {
    const chat = await fetch(`${tp.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'x-litellm-tags': 'tenant:zeta' },
      body: JSON.stringify({ model: 'mock/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(chat.status, 200);
    await chat.text();
    const list = await call('GET', '/tag/list');
    assert.equal(list.status, 200);
    const byName = new Map(list.json.map((t: any) => [t.name, t]));
    assert.equal((byName.get('app:alpha') as any).defined, true);
    assert.equal((byName.get('tenant:zeta') as any).defined, false);
    assert.equal((byName.get('tenant:zeta') as any).max_budget, null);
  });

  test('every bad input is a 4xx naming the problem, never a 500', async () => {
    const cases: [string, string, unknown, number, string | null][] = [
      ['POST', '/tag/new', { name: 'app:alpha', max_budget: 1, budget_duration: '1d' }, 409, 'name'],
      ['POST', '/tag/new', { name: '' }, 400, 'name'],
      ['POST', '/tag/new', { name: 'bad\u0001name' }, 400, 'name'],
      ['POST', '/tag/new', { max_budget: 1 }, 400, 'name'],
      ['POST', '/tag/new', { name: 'x', max_budget: -1, budget_duration: '1d' }, 400, 'max_budget'],
      ['POST', '/tag/new', { name: 'x', max_budget: '5', budget_duration: '1d' }, 400, 'max_budget'],
      ['POST', '/tag/new', { name: 'x', max_budget: 5, budget_duration: '1 year' }, 400, 'budget_duration'],
      ['POST', '/tag/new', { name: 'x', max_budget: 5 }, 400, 'budget_duration'],
      ['POST', '/tag/new', { name: 'x', soft_budget: 2 }, 400, 'budget_duration'],
      ['POST', '/tag/new', { name: 'x', alert_thresholds: [0.5, -1] }, 400, 'alert_thresholds'],
      ['POST', '/tag/new', { name: 'x', colour: 'red' }, 400, 'colour'],
      ['POST', '/tag/new', '{"name":', 400, null],
      ['POST', '/tag/new', '[1,2]', 400, null],
      ['POST', '/tag/update', { name: 'missing:tag', max_budget: 1 }, 404, 'name'],
      ['POST', '/tag/update', { name: 'app:alpha', budget_duration: 'soon' }, 400, 'budget_duration'],
      ['POST', '/tag/delete', { name: 'missing:tag' }, 404, 'name'],
      ['POST', '/tag/delete', {}, 400, 'name'],
      ['GET', '/tag/info?names=missing:tag', undefined, 404, 'names'],
      ['GET', '/tag/info', undefined, 400, 'names'],
      ['POST', '/tag/info', { names: 'app:alpha' }, 200, null],
      ['POST', '/tag/info', { names: [1] }, 400, 'names'],
      ['DELETE', '/tag/list', undefined, 405, null],
    ];
    for (const [method, path, body, status, param] of cases) {
      const r = await call(method, path, body);
      assert.equal(r.status, status, `${method} ${path} ${JSON.stringify(body)} -> ${JSON.stringify(r.json)}`);
      if (status >= 400) {
        assert.equal(typeof r.json.error.message, 'string');
        if (param) assert.equal(r.json.error.param, param, `${method} ${path} ${JSON.stringify(body)}: ${r.json.error.message}`);
      }
    }
    assert.equal((await call('GET', '/tag/list', undefined, KEY)).status, 403);
    assert.equal((await call('GET', '/tag/list', undefined, 'sk-wrong-000000000')).status, 401);
  });
});
