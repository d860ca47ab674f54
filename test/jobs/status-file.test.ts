import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runJob, type RunDeps, type RunSummary } from '../../jobs/run/runner.ts';
import { nextStatus, promFileOf, recordRunStatus, statusProblems, type JobsStatus } from '../../jobs/run/status-file.ts';
import { silentLogger } from '../../src/log.ts';
import { makeRecords, putRecordObjects } from '../helpers/spend-fixtures.ts';
import { createHarness, type Harness } from './harness.ts';

let h: Harness;
after(async () => h?.cleanup());

const readStatus = async (): Promise<JobsStatus> => JSON.parse(await readFile(h.settings.statusFile, 'utf8'));
const readProm = (): Promise<string> => readFile(promFileOf(h.settings.statusFile), 'utf8');

test('every run leaves its outcome in jobs-status.json and .prom, including a failed run that publishes no snapshot', async () => {
  h = await createHarness();
  let now = new Date('2026-11-10T12:00:00Z');
  const deps = (extra: Partial<RunDeps> = {}): RunDeps => ({ settings: h.settings, store: h.store, log: silentLogger, now: () => now, ...extra });

  await putRecordObjects(h.store, makeRecords(300, 5, Date.parse('2026-11-10T08:00:00Z'), 60_000), 150, 'a');
  const ok = await runJob({ job: 'reconcile', trigger: 'schedule' }, deps());
  assert.equal(ok.status, 'success');
  let status = await readStatus();
  assert.equal(status.reconcile!.last_run.status, 'success');
  assert.equal(status.reconcile!.last_run.rows, 300);
  assert.equal(existsSync(h.settings.workDir), false, 'no scratch directory is left behind');
  assert.equal(status.reconcile!.last_success_at, '2026-11-10T12:00:00.000Z');
  assert.equal(status.reconcile!.consecutive_failures, 0);

  // The store breaks between download and load: the run fails, nothing changes, no snapshot.
  await putRecordObjects(h.store, makeRecords(100, 6, Date.parse('2026-11-10T09:00:00Z'), 60_000), 100, 'b');
  now = new Date('2026-11-10T12:05:00Z');
  const failing = deps({ ingestHooks: { afterDownload: () => Promise.reject(new Error('disk on fire')) } });
  const bad = await runJob({ job: 'reconcile', trigger: 'schedule' }, failing);
  assert.equal(bad.status, 'failed');
  assert.equal(bad.snapshotPublished, false);
  now = new Date('2026-11-10T12:10:00Z');
  await runJob({ job: 'reconcile', trigger: 'schedule' }, failing);

  status = await readStatus();
  assert.equal(status.reconcile!.last_run.status, 'failed');
  assert.match(status.reconcile!.last_run.error!, /disk on fire/);
  assert.equal(status.reconcile!.last_run.ended_at, '2026-11-10T12:10:00.000Z');
  assert.equal(status.reconcile!.last_success_at, '2026-11-10T12:00:00.000Z', 'the last success is kept');
  assert.equal(status.reconcile!.consecutive_failures, 2);
  assert.deepEqual([status.reconcile!.runs, status.reconcile!.failures], [3, 2]);

  const prom = await readProm();
  assert.match(prom, /^# TYPE tagspend_job_last_run_success gauge$/m);
  assert.match(prom, /^tagspend_job_last_run_success\{job="reconcile"\} 0$/m);
  assert.match(prom, /^tagspend_job_consecutive_failures\{job="reconcile"\} 2$/m);
  assert.match(prom, new RegExp(`^tagspend_job_last_success_timestamp_seconds\\{job="reconcile"\\} ${Date.parse('2026-11-10T12:00:00Z') / 1000}$`, 'm'));
  assert.match(prom, /^tagspend_job_failures_total\{job="reconcile"\} 2$/m);
  for (const line of prom.trimEnd().split('\n')) {
    assert.match(line, /^(# (HELP|TYPE) tagspend_job_\w+ .+|tagspend_job_\w+\{job="\w+"\} -?[\d.]+)$/, line);
  }

  // Recovery resets the failure streak; another job gets its own entry.
  now = new Date('2026-11-10T12:15:00Z');
  assert.equal((await runJob({ job: 'reconcile', trigger: 'schedule' }, deps())).status, 'success');
  await runJob({ job: 'rollup', trigger: 'cli' }, deps());
  status = await readStatus();
  assert.equal(status.reconcile!.consecutive_failures, 0);
  assert.equal(status.reconcile!.last_success_at, '2026-11-10T12:15:00.000Z');
  assert.equal(status.reconcile!.last_run.rows, 100, 'the objects of the failed runs are loaded now');
  assert.deepEqual(Object.keys(status).sort(), ['reconcile', 'rollup']);
  assert.match(await readProm(), /^tagspend_job_last_run_success\{job="rollup"\} 1$/m);
});

function summary(job: 'reconcile' | 'rollup', status: 'success' | 'failed', runId: number): RunSummary {
  return {
    runId, job, status, objects: 1, rows: 10, duplicates: 0, rejected: 0, repriced: 0, days: 1, billed: 0, invalidDefinitions: 0, invalidBills: 0,
    durationMs: 1500, error: status === 'failed' ? 'store unreachable' : null, snapshotPublished: false, reportFiles: [], timings: {},
  };
}

test('statusProblems: a failed last run, a stale or missing reconcile success', () => {
  const at = new Date('2026-11-10T12:00:00Z');
  let s = nextStatus({}, summary('reconcile', 'success', 1), at);
  const in10min = at.getTime() + 600_000;
  assert.deepEqual(statusProblems(s, in10min, 1800), []);
  assert.deepEqual(statusProblems(s, in10min, 300), ['reconcile: last success 600 s ago (2026-11-10T12:00:00.000Z), over 300 s']);
  s = nextStatus(s, summary('rollup', 'failed', 2), at);
  assert.deepEqual(statusProblems(s, in10min), ['rollup: last run #2 failed (1 in a row): store unreachable']);
  assert.deepEqual(statusProblems({}, in10min, 1800), ['reconcile: no successful run recorded']);
  assert.deepEqual(statusProblems({}, in10min), []);
});

test('tagspend jobs status prints the last runs and exits 1 when a check fails', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tagspend-status-'));
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['bin/tagspend.js', 'jobs', 'status', '--data-dir', dir, ...args], { encoding: 'utf8', timeout: 60_000 });
  try {
    const none = cli('--max-age', '1800');
    assert.equal(none.status, 1);
    assert.match(none.stderr, /no successful run recorded/);

    const file = join(dir, 'jobs-status.json');
    await recordRunStatus(file, summary('reconcile', 'success', 7), new Date());
    const ok = cli('--max-age', '1800');
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^reconcile +success /m);

    await recordRunStatus(file, summary('reconcile', 'failed', 8), new Date());
    const bad = cli();
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /reconcile: last run #8 failed \(1 in a row\): store unreachable/);
    const json = JSON.parse(cli('--format', 'json').stdout);
    assert.equal(json.reconcile.last_run.run_id, 8);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
