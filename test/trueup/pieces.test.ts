import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { runJob } from '../../jobs/run/runner.ts';
import { dayBatches, runTrueup, type TrueupOptions, type TrueupResult } from '../../jobs/steps/trueup.ts';
import { importBillLines } from '../../jobs/steps/trueup-import.ts';
import type { Json } from '../../src/db/rows.ts';
import { silentLogger } from '../../src/log.ts';
import type { SpendRecord } from '../../src/spend/record.ts';
import { formatUnits } from '../../src/trueup/money.ts';
import { parseBillFiles } from '../../src/trueup/parse.ts';
import { makeRecords, putRecordObjects } from '../helpers/spend-fixtures.ts';
import { decimalUnits, usdUnits, utcDay } from '../jobs/expected.ts';
import { createHarness, type Harness } from '../jobs/harness.ts';

const START = Date.parse('2026-11-02T00:00:00Z');
const NOW = new Date('2026-11-21T12:00:00Z');
const ONE_PIECE = Number.MAX_SAFE_INTEGER;

/**
 * A bill per UTC day x provider x model of the records, some pools billed below their estimate
 * (shared, with rounding remainders), some above (unattributed rest), a line for the rest of a
 * day and a day without records.
 */
function billFor(records: readonly SpendRecord[]): string {
  const est = new Map<string, bigint>();
  for (const r of records) {
    if (r.cost_usd === null || r.cost_usd === 0 || r.provider === 'acme') continue;
    const k = `${utcDay(r)},${r.provider},${r.upstream_model}`;
    est.set(k, (est.get(k) ?? 0n) + usdUnits(r.cost_usd));
  }
  const percent = [97n, 103n, 91n, 100n];
  const lines = [...est].sort().map(([k, units], i) => `${k},,${formatUnits((units * percent[i % percent.length]!) / 100n)}`);
  lines.push('2026-11-02,openai,,web search,1.00', '2026-11-20,openai,,no records that day,5.00');
  return `date,provider,model,description,amount_usd\n${lines.join('\n')}\n`;
}

describe('true-up in pieces', () => {
  // Reconciled, with the bill imported and not yet allocated: every case starts from a copy.
  let base: Harness;
  const copies: Harness[] = [];
  let reference: Awaited<ReturnType<typeof stateOf>>;
  let referenceRun: TrueupResult;

  async function copyOfBase(): Promise<Harness> {
    const h = await createHarness();
    copies.push(h);
    await copyFile(base.settings.dbFile, h.settings.dbFile);
    return h;
  }
  async function allocate(h: Harness, options: TrueupOptions): Promise<TrueupResult> {
    const ctx = await h.context(NOW, 2);
    try {
      return await runTrueup(ctx, options);
    } finally {
      ctx.db.close();
    }
  }
  async function stateOf(h: Harness): Promise<Record<string, Record<string, Json>[]>> {
    return {
      shares: await h.rows('SELECT request_id, billed_usd::VARCHAR AS billed FROM spend_logs ORDER BY request_id'),
      pools: await h.rows('SELECT * EXCLUDE (allocated_at, run_id) FROM trueup_pools ORDER BY "day", provider, model_key NULLS FIRST'),
      rollupDays: await h.rows('SELECT "day"::VARCHAR AS day FROM rollup_pending_days ORDER BY 1'),
      pendingDays: await h.rows('SELECT "day"::VARCHAR AS day FROM trueup_pending_days ORDER BY 1'),
    };
  }

  before(async () => {
    base = await createHarness();
    const records = makeRecords(1200, 31, START, 240_000); // 2026-11-02 .. 2026-11-05
    await putRecordObjects(base.store, records, 300);
    const loaded = await runJob({ job: 'reconcile', trigger: 'cli', full: true }, { settings: base.settings, store: base.store, log: silentLogger, now: () => NOW });
    assert.equal(loaded.status, 'success', loaded.error ?? '');
    const parsed = parseBillFiles('csv', [{ name: 'bill.csv', text: billFor(records) }]);
    assert.deepEqual(parsed.problems, []);
    const ctx = await base.context(NOW, 2);
    try {
      assert.ok((await importBillLines(ctx, parsed.lines)).lines > 10);
    } finally {
      ctx.db.close();
    }
    const one = await copyOfBase();
    referenceRun = await allocate(one, { pieceRows: ONE_PIECE });
    reference = await stateOf(one);
  });
  after(async () => {
    for (const h of copies) await h.cleanup();
    await base?.cleanup();
  });

  test('days are grouped into batches of at most the piece size; a bigger day alone, days without records ride along', () => {
    const days = [
      { day: '2026-11-01', records: 0 },
      { day: '2026-11-02', records: 30 },
      { day: '2026-11-03', records: 60 },
      { day: '2026-11-04', records: 250 },
      { day: '2026-11-05', records: 0 },
      { day: '2026-11-06', records: 40 },
      { day: '2026-11-07', records: 60 },
    ];
    assert.deepEqual(dayBatches(days, 100), [
      { from: '2026-11-01', to: '2026-11-03', days: 3, records: 90 },
      { from: '2026-11-04', to: '2026-11-05', days: 2, records: 250 },
      { from: '2026-11-06', to: '2026-11-07', days: 2, records: 100 },
    ]);
    assert.deepEqual(dayBatches(days, ONE_PIECE), [{ from: '2026-11-01', to: '2026-11-07', days: 7, records: 440 }]);
    assert.deepEqual(dayBatches([], 100), []);
  });

  test('the one-piece reference allocates the whole bill exactly', async () => {
    assert.ok(referenceRun.changed > 500, `${referenceRun.changed} shares written`);
    assert.equal(referenceRun.days, 5, 'four days of records and a billed day without records');
    const pools = reference.pools!;
    const sum = (field: string): bigint => pools.reduce((s, p) => s + decimalUnits(p[field]), 0n);
    const shares = reference.shares!.reduce((s, r) => s + (r.billed === null ? 0n : decimalUnits(r.billed)), 0n);
    assert.equal(shares, sum('allocated_usd'));
    assert.equal(shares + sum('unattributed_usd'), sum('billed_usd'));
    assert.ok(pools.some((p) => decimalUnits(p.billed_usd) < decimalUnits(p.estimated_usd)), 'a pool billed below its estimate is shared');
    assert.ok(pools.some((p) => decimalUnits(p.unattributed_usd) > 0n && Number(p.requests) > 0), 'a pool billed above its estimate');
    assert.deepEqual(reference.pendingDays, []);
    assert.ok(reference.rollupDays!.length >= 4);
  });

  for (const pieceRows of [40, 700]) {
    test(`the allocation in pieces of ${pieceRows} records equals the allocation in one piece`, async () => {
      const h = await copyOfBase();
      let commits = 0;
      const run = await allocate(h, { pieceRows, hooks: { afterCommit: () => void commits++ } });
      assert.deepEqual(run, referenceRun);
      // One transaction per piece of shares and one per batch of days (pools): more than 5 days' worth.
      assert.ok(commits > (pieceRows === 40 ? 20 : 5), `${commits} transactions`);
      assert.deepEqual(await stateOf(h), reference);
      const again = await allocate(h, { pieceRows, full: true });
      assert.equal(again.changed, 0, 'allocating the same days again changes no share');
      assert.deepEqual(await stateOf(h), reference);
    });
  }

  test('a run that stops between pieces leaves its days pending; the next run ends identical to one uninterrupted run', async () => {
    for (const stopAfter of [1, 4, 9, 17]) {
      const h = await copyOfBase();
      let commits = 0;
      const stop = (): void => {
        if (++commits === stopAfter) throw new Error('stopped between pieces');
      };
      await assert.rejects(allocate(h, { pieceRows: 40, hooks: { afterCommit: stop } }), /stopped between pieces/);
      const stopped = await stateOf(h);
      assert.ok(stopped.pendingDays!.length > 0, `after ${stopAfter}: the unfinished days stay pending`);
      assert.notDeepEqual(stopped.shares, reference.shares, `after ${stopAfter}: the run had not finished`);
      await allocate(h, { pieceRows: 40 });
      assert.deepEqual(await stateOf(h), reference, `stopped after transaction ${stopAfter}`);
    }
  });

  test('a --full run that stops between batches leaves its other days to the next run, which is not --full', async () => {
    const h = await copyOfBase();
    await allocate(h, { pieceRows: ONE_PIECE });
    // Allocated and rolled up; then one day's pools and another day's shares are out of date
    // (say, from an older release): what a --full run is for.
    await h.rows(`DELETE FROM rollup_pending_days; DELETE FROM trueup_pools WHERE "day" = '2026-11-04';
      UPDATE spend_logs SET billed_usd = NULL WHERE ts::DATE = '2026-11-05'`);
    let commits = 0;
    const stop = (): void => {
      if (++commits === 1) throw new Error('stopped between batches');
    };
    await assert.rejects(allocate(h, { pieceRows: 40, full: true, hooks: { afterCommit: stop } }), /stopped between batches/);
    assert.deepEqual((await stateOf(h)).pendingDays!.map((r) => r.day), ['2026-11-03', '2026-11-04', '2026-11-05', '2026-11-20']);
    const next = await allocate(h, { pieceRows: 40 });
    assert.equal(next.days, 4);
    const { rollupDays, ...state } = await stateOf(h);
    const { rollupDays: _all, ...expected } = reference;
    assert.deepEqual(state, expected);
    assert.ok(rollupDays!.length > 0 && rollupDays!.length < reference.rollupDays!.length, 'only the days whose shares changed are rolled up again');
  });

  test('a process killed between pieces recovers: the next run ends identical to one uninterrupted run', async () => {
    const h = await copyOfBase();
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./crash-child.ts', import.meta.url)), h.dir, h.store.url, '40', '6'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const [code, signal] = await once(child, 'exit');
    assert.deepEqual([code, signal], [null, 'SIGKILL']);
    const killed = await stateOf(h);
    assert.ok(killed.pendingDays!.length > 0, 'the unfinished days stay pending');
    const written = killed.shares!.filter((r) => r.billed !== null).length;
    assert.ok(written > 0 && written < referenceRun.changed, `${written} shares were committed before the kill`);
    await allocate(h, { pieceRows: 40 });
    assert.deepEqual(await stateOf(h), reference);
  });
});
