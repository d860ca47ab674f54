import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runJob, type RunRequest } from '../../jobs/run/runner.ts';
import { silentLogger } from '../../src/log.ts';
import type { SpendRecord } from '../../src/spend/record.ts';
import { parseBillFiles } from '../../src/trueup/parse.ts';
import type { BillSource } from '../../src/trueup/bill.ts';
import { formatUnits } from '../../src/trueup/money.ts';
import { makeRecords, putRecordObjects } from '../helpers/spend-fixtures.ts';
import { anthropicPage, openaiPage, pretty } from '../helpers/bills.ts';
import { decimalUnits, usdUnits, utcDay } from '../jobs/expected.ts';
import { createHarness, type Harness } from '../jobs/harness.ts';
import { openReader } from '../../src/db/open.ts';
import { parseDimension } from '../../src/report/dimensions.ts';
import { buildReport, renderReport } from '../../src/report/query.ts';
import { UNATTRIBUTED } from '../../src/report/render/labels.ts';

const START = Date.parse('2026-11-02T00:00:00Z');
const USD = 10_000_000_000n;
const dollars = (units: bigint): string => formatUnits(units).replace(/0+$/, '').replace(/\.$/, '');
/** Cents text of an amount in 1e-10 USD: 1e-8 cents per unit. */
const cents = (units: bigint): string => `${units / 100_000_000n}.${String(units % 100_000_000n).padStart(8, '0')}`;

describe('true-up allocation', () => {
  let h: Harness;
  let records: SpendRecord[];
  const est = (pred: (r: SpendRecord) => boolean): bigint => records.filter(pred).reduce((s, r) => s + usdUnits(r.cost_usd), 0n);
  const on = (day: string, upstream?: string, provider?: string) => (r: SpendRecord): boolean =>
    utcDay(r) === day && (upstream === undefined || r.upstream_model === upstream) && (provider === undefined || r.provider === provider);
  let gpt5: bigint;
  let mini: bigint;
  let miniBill: bigint;
  let claude: bigint;
  const files = new Map<BillSource, { name: string; text: string }[]>();

  const deps = () => ({ settings: h.settings, store: h.store, log: silentLogger, now: () => new Date('2026-11-21T12:00:00Z') });
  async function importBill(source: BillSource, list: { name: string; text: string }[]) {
    const parsed = parseBillFiles(source, list);
    assert.deepEqual(parsed.problems, []);
    const req: RunRequest = { job: 'trueup', trigger: 'cli', bill: parsed.lines };
    return runJob(req, deps());
  }

  before(async () => {
    h = await createHarness();
    records = makeRecords(2500, 21, START, 120_000); // 2026-11-02 .. 2026-11-05
    await putRecordObjects(h.store, records, 500);
    const first = await runJob({ job: 'reconcile', trigger: 'cli', full: true }, deps());
    assert.equal(first.status, 'success');

    gpt5 = est(on('2026-11-02', 'gpt-5-2025-08-07'));
    mini = est(on('2026-11-02', 'gpt-5-mini-2025-08-07'));
    claude = est(on('2026-11-03', undefined, 'anthropic'));
    assert.ok(gpt5 > USD / 10n && mini > USD / 10n && claude > USD / 10n, 'the fixture has spend to allocate');
    miniBill = ((mini * 9n) / 10n / 100_000_000n) * 100_000_000n; // 90%, whole cents
    files.set('openai', [
      {
        name: 'openai-costs.json',
        text: pretty(
          openaiPage([
            {
              day: '2026-11-02',
              results: [
                { usd: 0.5, line_item: 'gpt-5-2025-08-07, input' },
                { usd: Number(dollars(gpt5 + 123n * (USD / 100n) - USD / 2n)), line_item: 'gpt-5-2025-08-07, output' },
                { usd: Number(dollars(miniBill)), line_item: 'gpt-5-mini-2025-08-07, input' },
                { usd: 0.37, line_item: 'Web search tool calls' },
              ],
            },
            { day: '2026-11-20', results: [{ usd: 5, line_item: 'gpt-5-2025-08-07, input' }] },
          ]),
        ),
      },
    ]);
    files.set('anthropic', [{ name: 'anthropic-costs.json', text: pretty(anthropicPage([{ day: '2026-11-03', results: [{ cents: cents(claude + claude / 10n) }] }])) }]);
    files.set('csv', [{ name: 'invoice.csv', text: 'date,provider,model,description,amount_usd\n2026-11-04,mistral,,November invoice,12.40\n' }]);
    for (const source of ['openai', 'anthropic', 'csv'] as const) {
      const run = await importBill(source, files.get(source)!);
      assert.equal(run.status, 'success', run.error ?? '');
      assert.ok(run.snapshotPublished);
    }
  });
  after(async () => h?.cleanup());

  async function billedOf(where: string): Promise<{ request_id: string; cost: bigint; billed: bigint | null }[]> {
    const rows = await h.rows(`SELECT request_id, coalesce(cost_usd, 0)::VARCHAR AS cost, billed_usd::VARCHAR AS billed FROM spend_logs WHERE ${where} ORDER BY request_id`);
    return rows.map((r) => ({ request_id: String(r.request_id), cost: decimalUnits(r.cost), billed: r.billed === null ? null : decimalUnits(r.billed) }));
  }
  async function pools(): Promise<Map<string, { billed: bigint; estimated: bigint; allocated: bigint; unattributed: bigint; requests: number }>> {
    const rows = await h.rows(`SELECT "day"::VARCHAR AS day, provider, coalesce(model_key, '*') AS m, billed_usd::VARCHAR AS b, estimated_usd::VARCHAR AS e,
      allocated_usd::VARCHAR AS a, unattributed_usd::VARCHAR AS u, requests FROM trueup_pools`);
    return new Map(rows.map((r) => [`${r.day} ${r.provider} ${r.m}`, { billed: decimalUnits(r.b), estimated: decimalUnits(r.e), allocated: decimalUnits(r.a), unattributed: decimalUnits(r.u), requests: Number(r.requests) }]));
  }

  test('the allocated shares plus the unattributed rows add up exactly to the bill', async () => {
    const bill = await h.rows('SELECT sum(amount_usd)::VARCHAR AS s FROM billed_costs');
    const shares = await h.rows('SELECT sum(billed_usd)::VARCHAR AS s FROM spend_logs');
    const unattributed = await h.rows('SELECT sum(unattributed_usd)::VARCHAR AS s FROM trueup_pools');
    const expected = gpt5 + 123n * (USD / 100n) + miniBill + (37n * USD) / 100n + 5n * USD + claude + claude / 10n + (1240n * USD) / 100n;
    assert.equal(decimalUnits(bill[0]!.s), expected);
    assert.equal(decimalUnits(shares[0]!.s) + decimalUnits(unattributed[0]!.s), expected);
    for (const [id, p] of await pools()) assert.equal(p.allocated + p.unattributed, p.billed, id);
  });

  test('a bill above the estimate gives each record its estimate; the unattributed row is the difference', async () => {
    const p = (await pools()).get('2026-11-02 openai gpt-5')!;
    assert.equal(p.estimated, gpt5);
    assert.equal(p.unattributed, 123n * (USD / 100n), 'exactly $1.23');
    const rows = await billedOf(`ts::DATE = '2026-11-02' AND upstream_model = 'gpt-5-2025-08-07'`);
    assert.equal(rows.length, records.filter(on('2026-11-02', 'gpt-5-2025-08-07')).length);
    for (const r of rows) assert.equal(r.billed, r.cost, r.request_id);
    const claudeRows = await billedOf(`ts::DATE = '2026-11-03' AND provider = 'anthropic'`);
    for (const r of claudeRows) assert.equal(r.billed, r.cost, 'a bill without models covers the whole day');
    assert.equal((await pools()).get('2026-11-03 anthropic *')!.unattributed, claude / 10n);
  });

  test('a bill below the estimate is shared by estimated cost, to the unit, summing exactly to the bill', async () => {
    const p = (await pools()).get('2026-11-02 openai gpt-5-mini')!;
    assert.equal(p.billed, miniBill);
    assert.equal(p.unattributed, 0n);
    const rows = await billedOf(`ts::DATE = '2026-11-02' AND upstream_model = 'gpt-5-mini-2025-08-07'`);
    assert.equal(rows.reduce((s, r) => s + r.billed!, 0n), miniBill);
    for (const r of rows) {
      const exact = miniBill * r.cost; // times mini: compare billed * mini with it, within one unit
      const diff = r.billed! * mini - exact;
      assert.ok(diff > -mini && diff < mini, `${r.request_id} is within one unit of its exact share`);
    }
  });

  test('bill lines no record matches, and days without records, are all unattributed', async () => {
    const all = await pools();
    const openaiDay = [...all.keys()].filter((k) => k.startsWith('2026-11-02 openai')).sort();
    assert.deepEqual(openaiDay, ['2026-11-02 openai *', '2026-11-02 openai gpt-5', '2026-11-02 openai gpt-5-mini'], 'a line item that names no model bills the whole day');
    const web = all.get('2026-11-02 openai *')!;
    assert.equal(web.requests, 0, 'every openai record of the day belongs to its model line');
    assert.equal(web.unattributed, (37n * USD) / 100n);
    const empty = all.get('2026-11-20 openai gpt-5')!;
    assert.deepEqual([empty.requests, empty.allocated, empty.unattributed], [0, 0n, 5n * USD]);
    assert.equal(all.get('2026-11-04 mistral *')!.unattributed, (1240n * USD) / 100n);
  });

  test('records that no bill covers keep billed_usd NULL', async () => {
    const rows = await billedOf(`provider IN ('groq', 'acme') OR ts::DATE = '2026-11-05'`);
    assert.ok(rows.length > 100);
    assert.ok(rows.every((r) => r.billed === null));
  });

  test('rollups carry the billed shares, and billed reports add up to the bill with an (unattributed) row', async () => {
    const cases: [string, string][] = [
      ['rollup_daily', 'TRUE'],
      ['rollup_daily_user', 'TRUE'],
      ['rollup_daily_model', 'TRUE'],
      ['rollup_daily_key', 'TRUE'],
      ["rollup_daily_tag_key WHERE tag_key = 'team'", "len(list_filter(tags, t -> t LIKE 'team:%')) > 0"],
      ["rollup_daily_metadata WHERE meta_key = 'project'", "metadata['project'] IS NOT NULL"],
    ];
    for (const [table, records] of cases) {
      const r = (await h.rows(`SELECT sum(billed_usd)::VARCHAR AS s FROM ${table}`))[0]!;
      const e = (await h.rows(`SELECT sum(billed_usd)::VARCHAR AS s FROM spend_logs WHERE ${records}`))[0]!;
      assert.ok(decimalUnits(e.s) > 0n);
      assert.equal(decimalUnits(r.s), decimalUnits(e.s), `${table}: the billed shares of its requests, split exactly`);
    }
    const unattributed = decimalUnits((await h.rows('SELECT sum(unattributed_usd)::VARCHAR AS s FROM trueup_pools'))[0]!.s);
    const bill = decimalUnits((await h.rows('SELECT sum(amount_usd)::VARCHAR AS s FROM billed_costs'))[0]!.s);
    const db = await openReader(h.settings.snapshotFile);
    try {
      for (const by of ['tag:team', 'model', 'tag']) {
        const report = await buildReport(db.conn, { from: '2026-11-01', to: '2026-11-30', by: parseDimension(by), basis: 'billed' }, 'UTC');
        assert.equal(report.basis, 'billed');
        assert.deepEqual(report.table.columns.slice(-4), ['spend_usd', 'billed_usd', 'billed_share', 'previous_billed_usd']);
        assert.equal(decimalUnits(report.total.billed_usd), bill, `${by}: the total is the whole bill`);
        assert.equal(decimalUnits(report.unattributed?.billed_usd), unattributed, by);
        if (by !== 'tag') {
          const sum = report.table.rows.reduce((s, r) => s + decimalUnits(r.billed_usd), 0n) + unattributed;
          assert.equal(sum, bill, `${by}: the rows and (unattributed) add up to the bill`);
        }
        assert.match(report.notes.join(' '), /have no imported bill/);
        const csv = renderReport(report, 'csv').trimEnd().split('\r\n');
        assert.match(csv.at(-1)!, new RegExp(`^${UNATTRIBUTED.replace(/[()]/g, '\\$&')},`));
        assert.match(renderReport(report, 'md'), /^# Billed spend by /);
        assert.ok(renderReport(report, 'table').includes(UNATTRIBUTED));
        assert.equal(JSON.parse(renderReport(report, 'json')).unattributed.billed_usd, report.unattributed!.billed_usd);
      }
      const estimated = await buildReport(db.conn, { from: '2026-11-01', to: '2026-11-30', by: parseDimension('tag:team') }, 'UTC');
      assert.ok(!estimated.table.columns.includes('billed_usd'), 'the default basis is the estimate');
      assert.equal(estimated.unattributed ?? null, null);
    } finally {
      db.close();
    }
  });

  test('re-importing the same pages changes nothing, not even when they were imported', async () => {
    const before = await h.rows('SELECT * EXCLUDE (run_id) FROM billed_costs ORDER BY provider, "day", line_key');
    const shares = await h.rows('SELECT sum(billed_usd)::VARCHAR AS s, count(billed_usd) AS n FROM spend_logs');
    for (const source of ['openai', 'anthropic', 'csv'] as const) {
      const run = await importBill(source, files.get(source)!);
      assert.equal(run.billed, 0, source);
      assert.equal(run.snapshotPublished, false, `${source}: nothing changed, nothing to publish`);
    }
    assert.deepEqual(await h.rows('SELECT * EXCLUDE (run_id) FROM billed_costs ORDER BY provider, "day", line_key'), before);
    assert.deepEqual(await h.rows('SELECT sum(billed_usd)::VARCHAR AS s, count(billed_usd) AS n FROM spend_logs'), shares);
  });

  test('a corrected bill replaces the day it covers; late records are allocated on the next reconcile', async () => {
    const corrected = pretty(openaiPage([{ day: '2026-11-02', results: [{ usd: Number(dollars(gpt5 + mini)), line_item: null }] }]));
    const run = await importBill('openai', [{ name: 'corrected.json', text: corrected }]);
    assert.ok(run.billed > 0);
    const lines = await h.rows(`SELECT count(*) AS n FROM billed_costs WHERE provider = 'openai' AND "day" = '2026-11-02'`);
    assert.equal(lines[0]!.n, '1', 'the four old lines are replaced by the one new line');
    assert.equal((await h.rows(`SELECT count(*) AS n FROM billed_costs WHERE "day" = '2026-11-20'`))[0]!.n, '1', 'other days stay');
    const day = await billedOf(`ts::DATE = '2026-11-02' AND provider = 'openai'`);
    assert.equal(day.reduce((s, r) => s + r.billed!, 0n), gpt5 + mini);

    // Late objects for the same day: the day's pool is allocated again with the new records in it.
    const late = makeRecords(300, 77, START + 3_600_000, 60_000).map((r) => ({ ...r, request_id: `late-${r.request_id}` }));
    await putRecordObjects(h.store, late, 100, 'late1');
    const rec = await runJob({ job: 'reconcile', trigger: 'cli', full: true }, deps());
    assert.equal(rec.rows, late.length);
    const pool = (await pools()).get('2026-11-02 openai *')!;
    assert.equal(pool.requests, records.concat(late).filter(on('2026-11-02', undefined, 'openai')).length);
    const after = await billedOf(`ts::DATE = '2026-11-02' AND provider = 'openai'`);
    assert.equal(after.reduce((s, r) => s + r.billed!, 0n) + pool.unattributed, gpt5 + mini);
    assert.ok(after.some((r) => r.request_id.startsWith('late-') && r.billed! > 0n));
  });
});
