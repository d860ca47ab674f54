import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { runJob } from '../../jobs/run/runner.ts';
import { openReader } from '../../src/db/open.ts';
import { selectRows, type Json } from '../../src/db/rows.ts';
import { exportFocus, type FocusBasis, type FocusFormat } from '../../src/export/focus.ts';
import { silentLogger } from '../../src/log.ts';
import { loadPriceTable } from '../../src/spend/pricing.ts';
import type { SpendRecord } from '../../src/spend/record.ts';
import { parseBillFiles } from '../../src/trueup/parse.ts';
import { makeRecords, putRecordObjects } from '../helpers/spend-fixtures.ts';
import { runCli } from '../helpers/run-cli.ts';
import { decimalUnits, usdUnits } from '../jobs/expected.ts';
import { createHarness, type Harness } from '../jobs/harness.ts';
import { CHARGE_CATEGORIES, CHARGE_FREQUENCIES, FOCUS_1_2_COLUMNS, FOCUS_DATE_TIME, FOCUS_NUMBER, PRICING_CATEGORIES, SERVICE_CATEGORIES } from './focus-spec.ts';

const START = Date.parse('2026-11-02T00:00:00Z');
const PERIOD = { from: '2026-11-01', to: '2026-11-30' };
const SPEC = new Map(FOCUS_1_2_COLUMNS.map(([id, level, nulls, type]) => [id, { level, nulls, type }]));

/** Token counts by FOCUS meter, split as costOf prices them (src/spend/pricing.ts). */
function meters(r: SpendRecord): Record<string, number> {
  const p = Math.max(r.prompt_tokens ?? 0, 0);
  const c = Math.min(Math.max(r.cached_tokens ?? 0, 0), p);
  const w = Math.min(Math.max(r.cache_write_tokens ?? 0, 0), p - c);
  const o = Math.max(r.completion_tokens ?? 0, 0);
  const x = Math.min(Math.max(r.reasoning_tokens ?? 0, 0), o);
  return { 'Input Tokens': p - c - w, 'Cached Input Tokens': c, 'Cache Write Tokens': w, 'Output Tokens': o - x, 'Reasoning Tokens': x };
}

async function readWith(file: string, format: FocusFormat, text: string): Promise<Record<string, Json>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const src = format === 'parquet' ? `read_parquet('${file}')` : `read_csv('${file}', header = true, all_varchar = true)`;
    await conn.run(`CREATE VIEW focus AS SELECT * FROM ${src}`);
    return await selectRows(conn, text);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

describe('FOCUS export', () => {
  let h: Harness;
  let records: SpendRecord[];
  const files = new Map<string, string>();
  const file = (basis: FocusBasis, format: FocusFormat): string => files.get(`${basis}.${format}`)!;

  before(async () => {
    h = await createHarness();
    records = makeRecords(1200, 17, START, 200_000); // 2026-11-02 .. 2026-11-04
    records[0] = { ...records[0]!, tags: ['experiment', 'team:a', 'app:x', 'team:b', ':odd'], provider: 'openai', model: 'openai/gpt-5', upstream_model: 'gpt-5-2025-08-07', outcome: 'success', cost_usd: 0.25, prompt_tokens: 1000, completion_tokens: 100 };
    await putRecordObjects(h.store, records, 400);
    const deps = { settings: h.settings, store: h.store, log: silentLogger };
    assert.equal((await runJob({ job: 'reconcile', trigger: 'cli', full: true }, deps)).status, 'success');
    const day = (await h.rows(`SELECT sum(cost_usd)::VARCHAR AS s FROM spend_logs WHERE ts::DATE = '2026-11-03' AND provider = 'anthropic'`))[0]!;
    const bill = parseBillFiles('csv', [{ name: 'b.csv', text: `date,provider,amount_usd\n2026-11-03,anthropic,${(Number(day.s) + 1.5).toFixed(10)}\n2026-11-03,mistral,4.25\n` }]);
    assert.equal((await runJob({ job: 'trueup', trigger: 'cli', bill: bill.lines }, deps)).status, 'success');
    const db = await openReader(h.settings.snapshotFile, { allowFiles: true });
    try {
      for (const basis of ['estimated', 'billed'] as const) {
        for (const format of ['parquet', 'csv'] as const) {
          const out = join(h.dir, `focus-${basis}.${format}`);
          const r = await exportFocus(db.conn, { ...PERIOD, basis, format, file: out }, await loadPriceTable());
          assert.ok(r.rows > 100);
          files.set(`${basis}.${format}`, out);
        }
      }
    } finally {
      db.close();
    }
  });
  after(async () => h?.cleanup());

  test('every mandatory FOCUS 1.2 column is there with its type; other columns are FOCUS columns or x_ custom ones, after them', async () => {
    const described = await readWith(file('billed', 'parquet'), 'parquet', 'DESCRIBE SELECT * FROM focus');
    const columns = described.map((r) => String(r.column_name));
    for (const [id, spec] of SPEC) if (spec.level === 'Mandatory') assert.ok(columns.includes(id), `mandatory column ${id}`);
    const firstCustom = columns.findIndex((c) => c.startsWith('x_'));
    assert.ok(firstCustom > 0);
    assert.ok(columns.slice(0, firstCustom).every((c) => SPEC.has(c)), 'no invented column without the x_ prefix');
    assert.ok(columns.slice(firstCustom).every((c) => /^x_[A-Z][A-Za-z]+$/.test(c)), 'custom columns come last');
    const expectedType = { String: /^VARCHAR$/, JSON: /^VARCHAR$/, Decimal: /^DECIMAL\(\d+,\d+\)$/, 'Date/Time': /^TIMESTAMP WITH TIME ZONE$/ };
    for (const r of described) {
      const spec = SPEC.get(String(r.column_name));
      if (spec) assert.match(String(r.column_type), expectedType[spec.type], `${String(r.column_name)} is ${spec.type}`);
    }
    const csvHeader = (await readWith(file('billed', 'csv'), 'csv', 'DESCRIBE SELECT * FROM focus')).map((r) => String(r.column_name));
    assert.deepEqual(csvHeader, columns, 'CSV and Parquet have the same columns in the same order');
  });

  test('values follow the spec: no nulls where none are allowed, allowed values, formats, and the conditional rules', async () => {
    for (const format of ['parquet', 'csv'] as const) {
      const rows = await readWith(file('billed', format), format, 'SELECT * FROM focus');
      assert.ok(rows.some((r) => r.ChargeCategory === 'Adjustment') && rows.some((r) => r.ChargeCategory === 'Usage'));
      for (const [i, r] of rows.entries()) {
        const where = `${format} row ${i}`;
        for (const [id, spec] of SPEC) {
          if (!(id in r)) continue;
          const v = r[id];
          if (!spec.nulls) assert.ok(v !== null && v !== '', `${where}: ${id} must not be null`);
          if (v === null) continue;
          if (spec.type === 'Decimal') assert.match(String(v), FOCUS_NUMBER, `${where}: ${id}`);
          if (spec.type === 'Date/Time' && format === 'csv') assert.match(String(v), FOCUS_DATE_TIME, `${where}: ${id}`);
          if (spec.type === 'JSON') {
            const obj = JSON.parse(String(v)) as unknown;
            assert.ok(obj !== null && typeof obj === 'object' && !Array.isArray(obj), `${where}: ${id} is a JSON object`);
            for (const value of Object.values(obj as object)) assert.ok(value === null || ['string', 'number', 'boolean'].includes(typeof value), `${where}: ${id} values are scalars`);
          }
        }
        assert.ok(CHARGE_CATEGORIES.includes(String(r.ChargeCategory)));
        assert.ok(SERVICE_CATEGORIES.includes(String(r.ServiceCategory)));
        assert.ok(CHARGE_FREQUENCIES.includes(String(r.ChargeFrequency)));
        assert.equal(r.ChargeClass, null, 'no corrections');
        const usage = r.ChargeCategory === 'Usage';
        for (const c of ['ConsumedQuantity', 'ConsumedUnit', 'PricingQuantity', 'PricingUnit', 'SkuId', 'SkuPriceId', 'PricingCategory']) {
          assert.equal(r[c] !== null, usage, `${where}: ${c} is set exactly on Usage rows`);
        }
        if (usage) assert.ok(PRICING_CATEGORIES.includes(String(r.PricingCategory)));
        if (r.SkuPriceId === null) assert.equal(r.SkuPriceDetails, null);
        if (r.ListUnitPrice !== null) {
          // ListUnitPrice (USD per 1M tokens) x PricingQuantity (millions of tokens) = ListCost, exactly.
          assert.equal(decimalUnits(r.ListUnitPrice, 16) * decimalUnits(r.PricingQuantity, 6) / 10n ** 6n, decimalUnits(r.ListCost, 16), where);
        } else if (usage) {
          assert.equal(decimalUnits(r.ListCost), decimalUnits(r.BilledCost), `${where}: without a list price, ListCost is the cost`);
        }
        assert.equal(decimalUnits(r.EffectiveCost), decimalUnits(r.BilledCost));
        assert.equal(decimalUnits(r.ContractedCost), decimalUnits(r.BilledCost));
      }
    }
  });

  test('one row per UTC day, API key, model, tag set and token type; quantities are the tokens of the records', async () => {
    const dupes = await readWith(file('estimated', 'parquet'), 'parquet',
      'SELECT count(*) AS n FROM (SELECT ChargePeriodStart, x_ApiKeyAlias, x_Model, x_UpstreamModel, x_TagList, SkuMeter FROM focus GROUP BY ALL HAVING count(*) > 1)');
    assert.equal(dupes[0]!.n, '0');
    const byMeter = await readWith(file('estimated', 'parquet'), 'parquet', "SELECT SkuMeter AS m, sum(ConsumedQuantity)::BIGINT AS q FROM focus WHERE ConsumedUnit = 'Tokens' GROUP BY ALL");
    const expected = new Map<string, number>();
    for (const r of records) for (const [m, n] of Object.entries(meters(r))) expected.set(m, (expected.get(m) ?? 0) + n);
    for (const [m, n] of expected) if (n === 0) expected.delete(m);
    assert.deepEqual(new Map(byMeter.map((r) => [String(r.m), Number(r.q)])), expected);
    const units = await readWith(file('estimated', 'parquet'), 'parquet', 'SELECT DISTINCT ConsumedUnit AS u, PricingUnit AS p FROM focus ORDER BY 1');
    assert.deepEqual(units, [{ u: 'Tokens', p: '1000000 Tokens' }]);
  });

  test('costs add up exactly: the estimate on the estimated basis, the whole bill on the billed basis', async () => {
    const estimate = records.reduce((s, r) => s + usdUnits(r.cost_usd), 0n);
    const sum = async (basis: FocusBasis, format: FocusFormat, col: string): Promise<bigint> =>
      decimalUnits((await readWith(file(basis, format), format, `SELECT sum(${col}::DECIMAL(38, 10))::VARCHAR AS s FROM focus`))[0]!.s);
    assert.equal(await sum('estimated', 'parquet', 'BilledCost'), estimate);
    assert.equal(await sum('estimated', 'csv', 'BilledCost'), estimate);
    assert.equal(await sum('billed', 'parquet', 'x_EstimatedCost'), estimate, 'the estimate rides along on the billed basis');
    const bill = (await h.rows('SELECT (SELECT sum(billed_usd) FROM spend_logs) + (SELECT sum(unattributed_usd) FROM trueup_pools) AS s'))[0]!;
    assert.equal(await sum('billed', 'parquet', 'BilledCost'), decimalUnits(bill.s));
    const adjustments = await readWith(file('billed', 'parquet'), 'parquet', "SELECT ProviderName AS p, BilledCost::VARCHAR AS c FROM focus WHERE ChargeCategory = 'Adjustment' ORDER BY 1");
    assert.deepEqual(adjustments.map((r) => [r.p, decimalUnits(r.c)]), [['anthropic', 15_000_000_000n], ['mistral', 42_500_000_000n]]);
  });

  test('Tags hold the request tags as a key/value object; valueless tags are true, a repeated key keeps its first value', async () => {
    const rows = await readWith(file('estimated', 'csv'), 'csv', `SELECT DISTINCT Tags, x_TagList FROM focus WHERE x_TagList = '["experiment","team:a","app:x","team:b",":odd"]'`);
    assert.equal(rows.length, 1);
    assert.deepEqual(JSON.parse(String(rows[0]!.Tags)), { experiment: true, team: 'a', app: 'x', ':odd': true });
    assert.equal(String(rows[0]!.Tags), '{"experiment":true,"team":"a","app":"x",":odd":true}', 'keys in the order the request carried them');
    const untagged = await readWith(file('estimated', 'parquet'), 'parquet', `SELECT count(*) AS n FROM focus WHERE x_TagList = '[]' AND Tags IS NOT NULL`);
    assert.equal(untagged[0]!.n, '0', 'a request without tags has null Tags');
  });

  test('tagspend export focus writes the file and says what it wrote', async () => {
    const out = join(h.dir, 'cli-focus.csv');
    const r = await runCli(['export', 'focus', '--from', '2026-11-03', '--to', '2026-11-03', '--basis', 'billed', '--out', out, '--data-dir', h.dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /cli-focus\.csv: \d+ FOCUS 1\.2 rows, BilledCost [\d.]+ USD \(billed, 2026-11-03 to 2026-11-03 UTC\)/);
    const days = await readWith(out, 'csv', 'SELECT DISTINCT ChargePeriodStart AS d FROM focus');
    assert.deepEqual(days, [{ d: '2026-11-03T00:00:00Z' }]);
  });
});
