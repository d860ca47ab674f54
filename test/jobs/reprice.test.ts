import assert from 'node:assert/strict';
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
});
