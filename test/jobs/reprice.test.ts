import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runJob } from '../../jobs/run/runner.ts';
import { silentLogger } from '../../src/log.ts';
import { costOf, type PriceTable } from '../../src/spend/pricing.ts';
import { makeRecords, putRecordObjects } from '../helpers/spend-fixtures.ts';
import { decimalUnits, usdUnits } from './expected.ts';
import { createHarness, type Harness } from './harness.ts';

const SECRET_PRICE = { input: 3e-6, output: 1.5e-5, cached_input: 3e-7 };
/** A price table that, unlike the one the records were logged with, knows acme's model. */
const prices: PriceTable = {
  ref: 'test:2026-12',
  size: 1,
  lookup(provider, model) {
    return provider === 'acme' && model === 'secret-model-1' ? { price: SECRET_PRICE, ref: 'test:2026-12', id: 'acme/secret-model-1' } : null;
  },
};

describe('re-price', () => {
  let h: Harness;
  after(async () => h?.cleanup());

  test('rows logged without a price are priced from their tokens once the model is known, and rollups follow', async () => {
    h = await createHarness();
    const records = makeRecords(1500, 41, Date.parse('2026-11-09T00:00:00Z'), 50_000);
    const unpriced = records.filter((r) => r.cost_usd === null);
    assert.ok(unpriced.length > 100);
    await putRecordObjects(h.store, records, 500);
    const deps = { settings: h.settings, store: h.store, log: silentLogger, now: () => new Date('2026-11-10T12:00:00Z'), prices };

    const run = await runJob({ job: 'reconcile', trigger: 'cli' }, deps);
    assert.equal(run.repriced, unpriced.length);
    const rows = await h.rows(`SELECT request_id, cost_usd::VARCHAR AS cost, price_ref, repriced_at IS NOT NULL AS repriced
      FROM spend_logs WHERE provider = 'acme' AND outcome = 'success' ORDER BY request_id`);
    const expected = new Map(unpriced.map((r) => [r.request_id, costOf(r, SECRET_PRICE)]));
    assert.equal(rows.length, unpriced.length);
    for (const row of rows) {
      assert.equal(decimalUnits(row.cost), usdUnits(expected.get(String(row.request_id))!), String(row.request_id));
      assert.equal(row.price_ref, 'test:2026-12');
      assert.equal(row.repriced, true);
    }
    const logged = await h.rows(`SELECT count(*) AS n FROM spend_logs WHERE repriced_at IS NOT NULL AND provider <> 'acme'`);
    assert.equal(logged[0]!.n, '0', 'rows priced when logged keep their cost');

    const total = records.reduce((s, r) => s + usdUnits(r.cost_usd ?? costOf(r, SECRET_PRICE)), 0n);
    const rollup = await h.rows('SELECT sum(spend_usd)::VARCHAR AS spend, sum(unpriced) AS unpriced FROM rollup_daily');
    assert.equal(decimalUnits(rollup[0]!.spend), total);
    assert.equal(rollup[0]!.unpriced, '0');

    const again = await runJob({ job: 'reprice', trigger: 'cli' }, deps);
    assert.equal(again.repriced, 0);
  });

  test('after a pricing.refresh the unpriced rows are priced at the price of their day; --all re-prices every row with tokens', async () => {
    await h?.cleanup();
    h = await createHarness();
    const sourcePath = join(h.dir, 'prices-data.json');
    const settings = { ...h.settings, priceRefresh: { source: sourcePath, interval_seconds: 3600, timeout_ms: 5000 } };
    // acme's model costs $1/$2 per 1M until 2026-11-10 and $0.50/$1 from that day (UTC).
    const dataSet = (prices: unknown) =>
      JSON.stringify([{ id: 'acme', name: 'Acme', api_pattern: 'acme', models: [{ id: 'secret-model', match: { starts_with: 'secret-model' }, prices }] }]);
    writeFileSync(sourcePath, dataSet([{ prices: { input_mtok: 1, output_mtok: 2 } }, { constraint: { start_date: '2026-11-10' }, prices: { input_mtok: 0.5, output_mtok: 1 } }]));
    const records = makeRecords(600, 43, Date.parse('2026-11-09T00:00:00Z'), 240_000);
    await putRecordObjects(h.store, records, 300);
    const deps = { settings, store: h.store, log: silentLogger, now: () => new Date('2026-11-11T12:00:00Z') };

    const run = await runJob({ job: 'reconcile', trigger: 'cli' }, deps);
    const acme = records.filter((r) => r.provider === 'acme' && r.cost_usd === null);
    assert.equal(run.repriced, acme.length);
    const priceOn = (ts: string) => (ts < '2026-11-10' ? { input: 1e-6, output: 2e-6 } : { input: 5e-7, output: 1e-6 });
    const rows = await h.rows(`SELECT request_id, cost_usd::VARCHAR AS cost, price_ref FROM spend_logs WHERE provider = 'acme' AND outcome = 'success'`);
    const byId = new Map(acme.map((r) => [r.request_id, r]));
    assert.ok(acme.some((r) => r.ts < '2026-11-10') && acme.some((r) => r.ts >= '2026-11-10'), 'records on both sides of the change');
    for (const row of rows) {
      const r = byId.get(String(row.request_id))!;
      assert.equal(decimalUnits(row.cost), usdUnits(costOf(r, priceOn(r.ts))), `${r.request_id} on ${r.ts}`);
      assert.match(String(row.price_ref), /^genai-prices:data@[0-9a-f]{8}$/);
    }

    // A correction without a date: a plain run leaves priced rows alone, --all re-prices them.
    writeFileSync(sourcePath, dataSet({ input_mtok: 0.25, output_mtok: 0.5 }));
    assert.equal((await runJob({ job: 'reprice', trigger: 'cli' }, deps)).repriced, 0);
    const all = await runJob({ job: 'reprice', trigger: 'cli', all: true }, deps);
    const withTokens = records.filter((r) => r.provider === 'acme' && r.prompt_tokens + r.completion_tokens > 0);
    assert.equal(all.repriced, withTokens.length);
    const after = await h.rows(`SELECT request_id, cost_usd::VARCHAR AS cost FROM spend_logs WHERE provider = 'acme' AND outcome = 'success'`);
    for (const row of after) {
      assert.equal(decimalUnits(row.cost), usdUnits(costOf(byId.get(String(row.request_id))!, { input: 2.5e-7, output: 5e-7 })));
    }
    const others = await h.rows(`SELECT count(*) AS n FROM spend_logs WHERE provider <> 'acme' AND repriced_at IS NOT NULL`);
    assert.equal(others[0]!.n, '0', 'models the new data does not know keep their cost');
    await runJob({ job: 'rollup', trigger: 'cli' }, deps);
    const sums = await h.rows('SELECT (SELECT sum(cost_usd) FROM spend_logs)::VARCHAR AS logs, (SELECT sum(spend_usd) FROM rollup_daily)::VARCHAR AS rollup');
    assert.equal(decimalUnits(sums[0]!.rollup), decimalUnits(sums[0]!.logs));
  });
});
