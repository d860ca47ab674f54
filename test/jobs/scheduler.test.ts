import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, describe, test } from 'node:test';
import { runJob, type RunRequest, type RunSummary } from '../../jobs/run/runner.ts';
import { Scheduler, defaultEntries } from '../../jobs/run/scheduler.ts';
import { silentLogger } from '../../src/log.ts';
import { makeRecords, putRecordObjects } from '../helpers/spend-fixtures.ts';
import { createHarness, type Harness } from './harness.ts';

const EVERY_SECOND = '* * * * * *';

function fakeSummary(req: RunRequest): RunSummary {
  return {
    runId: 1, job: req.job, status: 'success', objects: 0, rows: 0, duplicates: 0, rejected: 0, repriced: 0, days: 0, billed: 0, invalidDefinitions: 0, invalidBills: 0,
    durationMs: 1, error: null, snapshotPublished: false, reportFiles: [], timings: {},
  };
}

describe('scheduler', () => {
  let h: Harness;
  const schedulers: Scheduler[] = [];
  after(async () => {
    for (const s of schedulers) await s.stop();
    await h?.cleanup();
  });

  test('fires the reconcile job on its schedule', async () => {
    h = await createHarness();
    await putRecordObjects(h.store, makeRecords(120, 51, Date.now() - 3_600_000, 10_000), 60);
    const scheduler = new Scheduler({
      entries: [{ name: 'reconcile', cron: EVERY_SECOND, runs: [{ job: 'reconcile' }] }],
      timezone: 'UTC',
      log: silentLogger,
      run: (req, signal) => runJob(req, { settings: h.settings, store: h.store, log: silentLogger, signal }),
    });
    schedulers.push(scheduler);
    scheduler.start();
    const [summary] = (await once(scheduler, 'run')) as [RunSummary];
    await scheduler.stop();
    assert.deepEqual([summary.job, summary.status, summary.rows], ['reconcile', 'success', 120]);
    const runs = await h.rows(`SELECT job, "trigger", status, "rows" FROM job_runs`);
    assert.deepEqual(runs[0], { job: 'reconcile', trigger: 'schedule', status: 'success', rows: '120' });
  });

  test('skips a tick while a run is still going and hands the skip to the next run', async () => {
    const requests: RunRequest[] = [];
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const scheduler = new Scheduler({
      entries: [{ name: 'reconcile', cron: EVERY_SECOND, runs: [{ job: 'reconcile' }] }],
      timezone: 'UTC',
      log: silentLogger,
      run: async (req) => {
        requests.push(req);
        if (requests.length === 1) await blocked;
        return fakeSummary(req);
      },
    });
    schedulers.push(scheduler);
    scheduler.start();
    const [skip] = await once(scheduler, 'skip');
    assert.equal(skip.job, 'reconcile');
    assert.equal(requests.length, 1, 'the overlapping tick did not start a second run');
    release();
    await once(scheduler, 'run');
    await once(scheduler, 'run');
    await scheduler.stop();
    assert.ok(requests[1]!.skipped!.length >= 1, 'the next run records the skipped tick');
    assert.equal(requests[1]!.trigger, 'schedule');
  });

  test('stop lets the current run end at its next safe point and waits for it', async () => {
    let sawAbort = false;
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const scheduler = new Scheduler({
      entries: [{ name: 'full', cron: EVERY_SECOND, runs: [{ job: 'reconcile', full: true }, { job: 'report' }] }],
      timezone: 'UTC',
      log: silentLogger,
      run: async (req, signal) => {
        started();
        await once(signal, 'abort');
        sawAbort = true;
        return { ...fakeSummary(req), status: 'interrupted' };
      },
    });
    schedulers.push(scheduler);
    scheduler.start();
    await running;
    await scheduler.stop();
    assert.equal(sawAbort, true);
    assert.equal(scheduler.busy, false);
  });

  test('the default plan: reconcile every 5 minutes, nightly full reconcile then the daily report', () => {
    const entries = defaultEntries({ reconcile: '*/5 * * * *', full: '0 2 * * *' });
    assert.deepEqual(entries.map((e) => [e.name, e.cron, e.runs]), [
      ['reconcile', '*/5 * * * *', [{ job: 'reconcile' }]],
      ['full', '0 2 * * *', [{ job: 'reconcile', full: true }, { job: 'report' }]],
    ]);
  });
});
