// One job run: open the DuckDB file as the single writer (waiting for another holder up to the
// configured time), record the run in job_runs, do the work, record how it ended, publish the
// read-only snapshot, and let go of the file. The file is held only for the run's duration.
import { mkdir, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { openWriter, type Db } from '../../src/db/open.ts';
import { selectOne } from '../../src/db/rows.ts';
import { prepareWriter } from '../../src/db/migrate.ts';
import { publishSnapshot } from '../../src/db/snapshot.ts';
import { sql } from '../../src/db/sql.ts';
import type { Logger } from '../../src/log.ts';
import { loadPriceTable, type PriceTable } from '../../src/spend/pricing.ts';
import { currentPriceData } from '../../src/spend/price-refresh.ts';
import type { ObjectStore } from '../../src/store/types.ts';
import { runBudgets } from '../steps/budgets.ts';
import { zeroCounts, type JobContext, type RunCounts } from './context.ts';
import { defaultReportDay, writeDailyReport } from '../steps/daily-report.ts';
import { runIngest, type IngestHooks } from '../steps/ingest.ts';
import { silentProgress, type Progress } from './progress.ts';
import { runReprice } from '../steps/reprice.ts';
import { applyTimezone, runRollup } from '../steps/rollup.ts';
import { recordRunStatus } from './status-file.ts';
import { runTrueup } from '../steps/trueup.ts';
import { runParquetExport } from '../steps/parquet.ts';
import { importBillLines } from '../steps/trueup-import.ts';
import { storeImportedBillDays, syncBills } from '../steps/bill-store.ts';
import type { BillLine } from '../../src/trueup/bill.ts';
import type { JobSettings } from './settings.ts';

import type { JobName } from './names.ts';

export { JOB_NAMES, type JobName } from './names.ts';

export interface SkippedRun {
  job: string;
  at: Date;
  reason: string;
}

export interface RunRequest {
  job: JobName;
  trigger: 'cli' | 'schedule';
  /** ingest/reconcile: list every object, not only recent partitions; trueup: allocate every billed day again. */
  full?: boolean;
  /** trueup: bill lines to import (already validated) before allocating. */
  bill?: readonly BillLine[];
  /** reprice: every row, not only those without a price (after a price correction). */
  all?: boolean;
  /** report: the day to report (default: yesterday in the configured timezone). */
  reportDay?: string;
  /** Scheduled runs that were skipped meanwhile, recorded in job_runs by this run. */
  skipped?: readonly SkippedRun[];
}

export interface RunDeps {
  settings: JobSettings;
  store: ObjectStore;
  log: Logger;
  now?: () => Date;
  progress?: Progress;
  /** Loaded from the bundled table and pricing.overrides_file when absent. */
  prices?: PriceTable;
  ingestHooks?: IngestHooks;
  /** Aborting stops the run at the next safe point (between batches and steps). */
  signal?: AbortSignal;
}

export interface RunSummary extends RunCounts {
  runId: number;
  job: JobName;
  /** `interrupted`: stopped early by the signal; everything committed so far stays. */
  status: 'success' | 'failed' | 'interrupted';
  durationMs: number;
  error: string | null;
  snapshotPublished: boolean;
  reportFiles: string[];
  /** Milliseconds per step (ingest, reprice, rollup, budgets) and for publishing the snapshot. */
  timings: Record<string, number>;
}

interface Step {
  name: string;
  run(ctx: JobContext, counts: RunCounts, req: RunRequest, deps: RunDeps): Promise<void>;
}

const step = (name: string, run: Step['run']): Step => ({ name, run });

const ingestStep = step('ingest', async (ctx, counts, req, deps) => {
  const r = await runIngest(ctx, { full: req.full ?? false, ...(deps.ingestHooks ? { hooks: deps.ingestHooks } : {}) });
  counts.objects += r.objects;
  counts.rows += r.rows;
  counts.duplicates += r.duplicates;
  counts.rejected += r.rejected;
});
const repriceStep = step('reprice', async (ctx, counts, req, deps) => {
  const { settings } = ctx;
  const prices =
    deps.prices ??
    (await loadPriceTable({
      overridesFile: settings.priceOverridesFile,
      data: await currentPriceData(settings.priceRefresh, settings.priceDataFile, ctx.log),
    }));
  counts.repriced += (await runReprice(ctx, prices, { all: req.all === true })).repriced;
});
const billImportStep = step('bill-import', async (ctx, counts, req) => {
  if (req.bill === undefined || req.bill.length === 0) return;
  counts.billed += (await importBillLines(ctx, req.bill)).lines;
  await storeImportedBillDays(ctx);
});
const billsStep = step('bills', async (ctx, counts) => {
  const r = await syncBills(ctx);
  counts.billed += r.lines;
  counts.invalidBills += r.invalid;
});
const trueupStep = step('trueup', async (ctx, counts, req) => {
  const r = await runTrueup(ctx, { full: req.job === 'trueup' && (req.full ?? false) });
  counts.billed += r.changed + r.pools;
});
const parquetStep = step('parquet', async (ctx, _counts, req) => {
  await runParquetExport(ctx, { full: req.job === 'parquet' && (req.full ?? false) });
});
const rollupStep = step('rollup', async (ctx, counts) => {
  counts.days += (await runRollup(ctx)).days;
});
const budgetsStep = step('budgets', async (ctx, counts) => {
  counts.invalidDefinitions += (await runBudgets(ctx, ctx.settings.alerts)).invalid.length;
});

/**
 * What each job runs, in order. Reconcile = ingest, bills (the store's bill objects in, imported
 * days out), re-price, true-up, rollup, budgets; trueup = import (when lines are given, then
 * written to the store), allocate, and roll up the days whose shares changed.
 */
export const JOB_STEPS: Readonly<Record<Exclude<JobName, 'report'>, readonly Step[]>> = {
  ingest: [ingestStep],
  reprice: [repriceStep],
  trueup: [billImportStep, trueupStep, rollupStep],
  rollup: [rollupStep],
  budgets: [budgetsStep],
  parquet: [parquetStep],
  reconcile: [ingestStep, billsStep, repriceStep, trueupStep, rollupStep, budgetsStep],
};

/** The steps of a run: reconcile also exports Parquet when jobs.export_parquet is set. */
export function stepsOf(job: Exclude<JobName, 'report'>, settings: JobSettings): readonly Step[] {
  return job === 'reconcile' && settings.exportParquet ? [...JOB_STEPS.reconcile, parquetStep] : JOB_STEPS[job];
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function startRun(db: Db, req: RunRequest, now: Date): Promise<number> {
  await db.conn.run(sql('runner/abandon_stale_job_runs'), { now: now.toISOString() });
  for (const s of req.skipped ?? []) {
    await db.conn.run(sql('runner/insert_skipped_job_run'), { job: s.job, at: s.at.toISOString(), reason: s.reason, pid: process.pid });
  }
  const runId = Number((await selectOne(db.conn, sql('runner/next_job_run_id')))?.run_id);
  await db.conn.run(sql('runner/insert_job_run'), {
    run_id: runId,
    job: req.job,
    trigger: req.trigger,
    started_at: now.toISOString(),
    status: 'running',
    pid: process.pid,
  });
  return runId;
}

async function finishRun(db: Db, runId: number, at: Date, status: string, counts: RunCounts, error: string | null): Promise<void> {
  const { objects, rows, duplicates, rejected, repriced, days, billed } = counts;
  await db.conn.run(sql('runner/finish_job_run'), { run_id: runId, ended_at: at.toISOString(), status, error, objects, rows, duplicates, rejected, repriced, days, billed });
}

export async function runJob(req: RunRequest, deps: RunDeps): Promise<RunSummary> {
  const { settings, log } = deps;
  const now = deps.now ?? (() => new Date());
  const started = performance.now();
  await mkdir(dirname(settings.dbFile), { recursive: true });
  const db = await openWriter(settings.dbFile, {
    lockWaitMs: settings.lockWaitMs,
    memoryLimit: settings.memoryLimit,
    onWait: (holder) => log.info({ holder, wait_ms: settings.lockWaitMs }, 'the DuckDB file is held by another writer; waiting'),
    ...(settings.threads === undefined ? {} : { threads: settings.threads }),
  });
  try {
    await prepareWriter(db.conn, db.path);
    // Whatever a crashed run left in the scratch directory is of no use now: we hold the file.
    await rm(settings.workDir, { recursive: true, force: true });
    const runId = await startRun(db, req, now());
    const runLog = log.child({ job: req.job, run_id: runId });
    const ctx: JobContext = {
      db,
      store: deps.store,
      settings,
      log: runLog,
      now,
      runId,
      progress: deps.progress ?? silentProgress,
      ...(deps.signal ? { signal: deps.signal } : {}),
    };
    const counts = zeroCounts();
    let reportFiles: string[] = [];
    let error: string | null = null;
    let retimed = false;
    const timings: Record<string, number> = {};
    try {
      retimed = await applyTimezone(ctx);
      if (req.job === 'report') {
        reportFiles = await writeDailyReport(ctx, req.reportDay ?? defaultReportDay(now(), settings.timezone));
      } else {
        for (const s of stepsOf(req.job, settings)) {
          if (deps.signal?.aborted) break;
          const t0 = performance.now();
          await s.run(ctx, counts, req, deps);
          timings[s.name] = performance.now() - t0;
        }
      }
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
      runLog.error({ err }, 'job run failed');
    }
    const status = error !== null ? 'failed' : deps.signal?.aborted ? 'interrupted' : 'success';
    await finishRun(db, runId, now(), status, counts, error);
    const changed = retimed || counts.rows + counts.repriced + counts.days + counts.rejected + counts.billed > 0;
    let snapshotPublished = false;
    if (error === null && (changed || !(await exists(settings.snapshotFile)))) {
      const t0 = performance.now();
      await publishSnapshot(db, settings.snapshotFile, { publishedAt: now(), runId });
      timings.snapshot = performance.now() - t0;
      snapshotPublished = true;
    }
    const summary: RunSummary = {
      runId,
      job: req.job,
      status,
      ...counts,
      durationMs: performance.now() - started,
      error,
      snapshotPublished,
      reportFiles,
      timings,
    };
    await recordRunStatus(settings.statusFile, summary, now()).catch((err: unknown) =>
      runLog.warn({ err, file: settings.statusFile }, 'could not write the job status file'),
    );
    // Still holding the file: no other run can be using the scratch directory.
    await rm(settings.workDir, { recursive: true, force: true });
    return summary;
  } finally {
    db.close();
  }
}

/** The one-line summary the CLI and the scheduler print. */
export function summaryLine(s: RunSummary): string {
  const parts = [
    `${s.job} #${s.runId} ${s.status}`,
    `objects=${s.objects}`,
    `rows=${s.rows}`,
    `duplicates=${s.duplicates}`,
    `rejected=${s.rejected}`,
    `repriced=${s.repriced}`,
    `days=${s.days}`,
    ...(s.billed > 0 ? [`billed=${s.billed}`] : []),
    `duration=${(s.durationMs / 1000).toFixed(2)}s`,
  ];
  if (s.invalidDefinitions > 0) parts.push(`invalid_definitions=${s.invalidDefinitions}`);
  if (s.invalidBills > 0) parts.push(`invalid_bills=${s.invalidBills}`);
  if (s.reportFiles.length > 0) parts.push(`files=${s.reportFiles.length}`);
  if (s.error !== null) parts.push(`error=${JSON.stringify(s.error)}`);
  return parts.join(' ');
}
