// Live spend by tag in Prometheus (`metrics.tag_keys`), capped so random tags cannot blow up
// the series count; and viewer keys, which may read spend but not call models.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startMockUpstream } from '../../src/mock/upstream.ts';
import { ProxyMetrics, tagCombinations } from '../../src/proxy/metrics.ts';
import type { SpendRecord } from '../../src/spend/record.ts';
import { startTestProxy, type TestProxy } from '../helpers/proxy.ts';

const MASTER = 'sk-master-0123456789';
const APP_KEY = 'sk-app-key-0123456789';
const VIEWER_KEY = 'sk-viewer-0123456789';

function rec(tags: string[], cost: number | null, outcome = 'success'): SpendRecord {
  return { endpoint: '/v1/chat/completions', outcome, tags, cost_usd: cost, latency_ms: 5, prompt_tokens: 1, completion_tokens: 1, provider: 'mock' } as SpendRecord;
}

/** `name{labels} value` lines of one metric, as a map from the label text to the value. */
async function series(metrics: ProxyMetrics, name: string): Promise<Map<string, number>> {
  const text = await metrics.registry.metrics();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`).exec(line);
    if (m) out.set(m[1] ?? '', Number(m[2]));
  }
  return out;
}

describe('per-tag proxy metrics', () => {
  test('spend and requests are labelled by the configured tag keys; several values of a key split evenly', async () => {
    const m = new ProxyMetrics({ tagKeys: ['team', 'app'] });
    m.observeRequest(rec(['team:search', 'app:bot', 'env:prod'], 0.5));
    m.observeRequest(rec(['team:search', 'team:ads', 'app:bot'], 1));
    m.observeRequest(rec(['env:prod'], 0.25, 'upstream_error'));
    const spend = await series(m, 'tagspend_spend_usd_total');
    assert.equal(spend.get('{tag_team="search",tag_app="bot"}'), 1);
    assert.equal(spend.get('{tag_team="ads",tag_app="bot"}'), 0.5);
    assert.equal(spend.get('{tag_team="",tag_app=""}'), 0.25);
    const requests = await series(m, 'tagspend_requests_total');
    assert.equal(requests.get('{endpoint="/v1/chat/completions",outcome="success",tag_team="search",tag_app="bot"}'), 1.5);
    assert.equal(requests.get('{endpoint="/v1/chat/completions",outcome="success",tag_team="ads",tag_app="bot"}'), 0.5);
    assert.equal(requests.get('{endpoint="/v1/chat/completions",outcome="upstream_error",tag_team="",tag_app=""}'), 1);
    assert.equal([...requests.values()].reduce((a, b) => a + b, 0), 3, 'requests add up');
  });

  test('a client sending random tags cannot grow the series past max_tag_series: the rest fold into other', async () => {
    const m = new ProxyMetrics({ tagKeys: ['team'], maxTagSeries: 5 });
    for (let i = 0; i < 1000; i++) m.observeRequest(rec([`team:random-${i}`], 0.01));
    const spend = await series(m, 'tagspend_spend_usd_total');
    assert.equal(spend.size, 6);
    assert.ok(Math.abs(spend.get('{tag_team="other"}')! - 995 * 0.01) < 1e-9);
    const requests = await series(m, 'tagspend_requests_total');
    assert.equal(requests.size, 6);
    assert.equal(requests.get('{endpoint="/v1/chat/completions",outcome="success",tag_team="other"}'), 995);
  });

  test('without tag keys the metrics keep their old labels', async () => {
    const m = new ProxyMetrics();
    m.observeRequest(rec(['team:x'], 0.5));
    assert.deepEqual([...(await series(m, 'tagspend_requests_total')).keys()], ['{endpoint="/v1/chat/completions",outcome="success"}']);
    assert.deepEqual([...(await series(m, 'tagspend_spend_usd_total'))], [['', 0.5]]);
  });

  test('tag combinations: one value per key, duplicates once, missing keys empty', () => {
    assert.deepEqual(tagCombinations(['team:a', 'team:a', 'x'], ['team', 'app']), [{ values: ['a', ''], weight: 1 }]);
    assert.deepEqual(tagCombinations(['team:a', 'team:b'], ['team']), [{ values: ['a'], weight: 0.5 }, { values: ['b'], weight: 0.5 }]);
  });
});

describe('viewer keys on the proxy', () => {
  let mock: Awaited<ReturnType<typeof startMockUpstream>>;
  let tp: TestProxy;
  before(async () => {
    mock = await startMockUpstream();
    tp = await startTestProxy({
      upstreamUrl: mock.url,
      config: {
        master_key: MASTER,
        metrics: { tag_keys: ['team'] },
        keys: [
          { key: APP_KEY, alias: 'app', tags: ['team:search'] },
          { key: VIEWER_KEY, alias: 'finance', viewer: true },
        ],
      },
    });
  });
  after(async () => {
    await tp?.close();
    await mock?.close();
  });

  const chat = (key: string) =>
    fetch(`${tp.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });

  test('a viewer key cannot call models (403, recorded under its alias) and cannot change tags', async () => {
    const res = await chat(VIEWER_KEY);
    assert.equal(res.status, 403);
    const body = (await res.json()) as { error: { type: string; message: string } };
    assert.equal(body.error.type, 'permission_error');
    assert.match(body.error.message, /viewer key/);
    const id = res.headers.get('x-tagspend-request-id');
    const record = tp.records().find((r) => r.request_id === id);
    assert.equal(record?.key_alias, 'finance');
    assert.equal(record?.status, 403);
    const tag = await fetch(`${tp.url}/tag/new`, {
      method: 'POST',
      headers: { authorization: `Bearer ${VIEWER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'team:x', max_budget: 1, budget_duration: '1d' }),
    });
    assert.equal(tag.status, 403);
  });

  test('/metrics shows live spend by team as requests are answered', async () => {
    assert.equal((await chat(APP_KEY)).status, 200);
    const text = await (await fetch(`${tp.url}/metrics`)).text();
    const m = /^tagspend_spend_usd_total\{tag_team="search"\} (\S+)$/m.exec(text);
    assert.ok(m && Number(m[1]) > 0, text);
    const cost = tp.records().filter((r) => r.key_alias === 'app').reduce((s, r) => s + (r.cost_usd ?? 0), 0);
    assert.ok(Math.abs(Number(m[1]) - cost) < 1e-12);
    assert.match(text, /^tagspend_requests_total\{endpoint="\/v1\/chat\/completions",outcome="success",tag_team="search"\} 1$/m);
  });
});
