// pricing.refresh: price data reloaded from a file (or URL) while the proxy runs; a bad source
// keeps the last good data and is counted in a metric; the jobs price what was unpriced.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMockUpstream } from '../../src/mock/upstream.ts';
import { silentLogger } from '../../src/log.ts';
import { currentPriceData, fetchPriceData } from '../../src/spend/price-refresh.ts';
import { startTestProxy, type TestProxy } from '../helpers/proxy.ts';

/** A price data set in genai-prices' published format with one provider and model. */
function dataSet(inputPerMillion: number): string {
  return JSON.stringify([
    {
      id: 'acme',
      name: 'Acme',
      api_pattern: 'https://api\\.acme\\.test',
      models: [{ id: 'acme-1', match: { starts_with: 'acme-1' }, prices: { input_mtok: inputPerMillion, output_mtok: 2 * inputPerMillion } }],
    },
  ]);
}

async function chat(tp: TestProxy): Promise<{ cost: string | null; id: string }> {
  const res = await fetch(`${tp.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'acme/acme-1', messages: [{ role: 'user', content: 'abcdefgh' }], max_tokens: 10 }),
  });
  assert.equal(res.status, 200);
  await res.text();
  return { cost: res.headers.get('x-tagspend-cost-usd'), id: res.headers.get('x-tagspend-request-id')! };
}

describe('pricing.refresh in the proxy', () => {
  let dir: string;
  let mock: Awaited<ReturnType<typeof startMockUpstream>>;
  let tp: TestProxy;
  let source: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tagspend-refresh-'));
    source = join(dir, 'data.json');
    writeFileSync(source, '[]');
    mock = await startMockUpstream();
    tp = await startTestProxy({
      upstreamUrl: mock.url,
      config: { providers: { acme: { base_url: mock.url } }, pricing: { refresh: { source, interval_seconds: 3600 } } },
    });
  });

  after(async () => {
    await tp?.close();
    await mock?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function metric(text: string, name: string): number {
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line ? Number(line.split(' ')[1]) : NaN;
  }

  test('an unusable source at start keeps the bundled data and counts a failure', async () => {
    const metrics = await (await fetch(`${tp.url}/metrics`)).text();
    assert.equal(metric(metrics, 'tagspend_price_refresh_failures_total'), 1, 'an empty list is not price data');
    const first = await chat(tp);
    assert.equal(first.cost, null, 'acme is unknown to the bundled data');
    assert.equal(tp.records().find((r) => r.request_id === first.id)!.price_ref, null);
  });

  test('new data from the source is used without a restart, with its own price_ref, and kept on disk', async () => {
    writeFileSync(source, dataSet(1));
    await tp.proxy.priceRefresher!.refreshNow();
    const { cost, id } = await chat(tp);
    const rec = tp.records().find((r) => r.request_id === id)!;
    // 2 prompt tokens at $1/1M and 10 completion tokens at $2/1M
    assert.equal(Number(cost), 0.000022);
    assert.match(rec.price_ref ?? '', /^genai-prices:data@[0-9a-f]{8}$/);
    assert.equal(readFileSync(join(tp.dataDir, 'price-data.json'), 'utf8'), dataSet(1));
    const metrics = await (await fetch(`${tp.url}/metrics`)).text();
    assert.ok(metric(metrics, 'tagspend_price_refresh_last_success_timestamp_seconds') > 1.7e9);
  });

  test('a bad or missing source keeps the last good data and raises the failure count', async () => {
    const failures = async () => metric(await (await fetch(`${tp.url}/metrics`)).text(), 'tagspend_price_refresh_failures_total');
    const before = await failures();
    writeFileSync(source, '{"not": "a provider list"}');
    await tp.proxy.priceRefresher!.refreshNow();
    rmSync(source);
    await tp.proxy.priceRefresher!.refreshNow();
    assert.equal(await failures(), before + 2);
    assert.equal(Number((await chat(tp)).cost), 0.000022, 'still priced from the last good data');
  });
});

describe('pricing.refresh sources', () => {
  let server: Server;
  let url: string;
  let body = dataSet(3);
  let status = 200;
  before(async () => {
    server = createServer((_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/data.json`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('an http source is read; a failing one falls back to the last good copy the jobs kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tagspend-refresh-src-'));
    try {
      const lastGood = join(dir, 'price-data.json');
      const settings = { source: url, interval_seconds: 60, timeout_ms: 5000 };
      const fresh = await currentPriceData(settings, lastGood, silentLogger);
      assert.equal(fresh?.providers[0]!.id, 'acme');
      assert.ok(existsSync(lastGood));
      status = 503;
      body = 'down';
      const fallback = await currentPriceData(settings, lastGood, silentLogger);
      assert.equal(fallback?.ref, fresh?.ref);
      rmSync(lastGood);
      assert.equal(await currentPriceData(settings, lastGood, silentLogger), undefined, 'nothing good at all: the bundled data');
      await assert.rejects(fetchPriceData(url, 5000), /HTTP 503/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
