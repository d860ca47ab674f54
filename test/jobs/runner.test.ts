import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import pino from 'pino';
import { fileURLToPath } from 'node:url';
import { runJob, summaryLine, type RunDeps } from '../../jobs/run/runner.ts';
import { openReader, openWriter } from '../../src/db/open.ts';
import { selectRows } from '../../src/db/rows.ts';
import { DatabaseLockedError } from '../../src/errors.ts';
import { silentLogger } from '../../src/log.ts';
import { makeRecords, putRecordObjects } from '../helpers/spend-fixtures.ts';
import { createHarness, type Harness } from './harness.ts';

const NOW = new Date('2026-11-10T12:00:00Z');
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function deps(h: Harness, extra: Partial<RunDeps> = {}): RunDeps {
  return { settings: h.settings, store: h.store, log: silentLogger, now: () => NOW, ...extra };
}

async function readSnapshot(h: Harness, text: string) {
  const db = await openReader(h.settings.snapshotFile);
  try {
    return await selectRows(db.conn, text);
  } finally {
    db.close();
  }
}

/** A child process holding the DuckDB file for writing until release() closes its stdin. */
async function holdLock(file: string): Promise<{ child: ChildProcess; release(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./hold-lock.ts', import.meta.url)), file], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const ready = once(child.stdout!, 'data').then(([chunk]) => String(chunk).trim());
  const exited = once(child, 'exit').then(([code]) => `exited with ${code} before it held the file`);
  assert.equal(await Promise.race([ready, exited]), 'ready');
  return {
    child,
    async release() {
      if (child.exitCode !== null) return;
      child.stdin!.end();
      await once(child, 'exit');
    },
  };
}

describe('job runs, snapshot and the writer lock', () => {
  let h: Harness;
  const holders: { release(): Promise<void> }[] = [];
  after(async () => {
    for (const holder of holders) await holder.release();
    await h?.cleanup();
  });

  test('every run is recorded in job_runs with its counts, and a dead run is marked abandoned', async () => {
    h = await createHarness();
    await putRecordObjects(h.store, makeRecords(700, 31, Date.parse('2026-11-09T08:00:00Z'), 60_000), 350);
    const first = await runJob({ job: 'reconcile', trigger: 'cli' }, deps(h));
    assert.deepEqual([first.status, first.objects, first.rows, first.days], ['success', 2, 700, 1]);
    assert.match(summaryLine(first), /^reconcile #1 success objects=2 rows=700 duplicates=0 rejected=0 repriced=0 days=1 duration=/);

    // A run whose process died leaves a 'running' row behind.
    const db = await openWriter(h.settings.dbFile);
    await db.conn.run(`INSERT INTO job_runs (run_id, job, "trigger", started_at, status) VALUES (99, 'ingest', 'cli', TIMESTAMP '2026-11-10 11:00:00', 'running')`);
    db.close();
    const second = await runJob({ job: 'ingest', trigger: 'schedule', skipped: [{ job: 'reconcile', at: NOW, reason: 'busy' }] }, deps(h));
    assert.equal(second.rows, 0);
    const runs = await h.rows(`SELECT run_id, job, "trigger", status, objects, "rows", days, error FROM job_runs ORDER BY started_at, run_id`);
    assert.deepEqual(
      runs.map((r) => [r.job, r.trigger, r.status, r.rows]),
      [
        ['ingest', 'cli', 'abandoned', null],
        ['reconcile', 'cli', 'success', '700'],
        ['reconcile', 'schedule', 'skipped', null],
        ['ingest', 'schedule', 'success', '0'],
      ],
    );
  });

  test('the snapshot is published after a run that changed data and is readable while a writer holds the file', async () => {
    const meta = await readSnapshot(h, 'SELECT newest_record_ts::VARCHAR AS newest, run_id FROM snapshot_meta');
    assert.deepEqual(meta, [{ newest: '2026-11-09 19:39:00', run_id: '1' }]);
    const before = await stat(h.settings.snapshotFile);

    const holder = await holdLock(h.settings.dbFile);
    holders.push(holder);
    try {
      const rows = await readSnapshot(h, 'SELECT count(*) AS n, sum(requests) AS r FROM rollup_daily');
      assert.deepEqual(rows, [{ n: '1', r: '700' }]);
      await assert.rejects(runJob({ job: 'reconcile', trigger: 'cli' }, deps(h)), (err: unknown) => {
        assert.ok(err instanceof DatabaseLockedError);
        assert.match(err.message, /is being written by process \d+/);
        return true;
      });
    } finally {
      await holder.release();
    }

    // Nothing new: the run is quick and the snapshot is left as it was.
    const noop = await runJob({ job: 'reconcile', trigger: 'cli' }, deps(h));
    assert.equal(noop.snapshotPublished, false);
    assert.ok(noop.durationMs < 1000, `no-op run took ${noop.durationMs} ms`);
    assert.equal((await stat(h.settings.snapshotFile)).mtimeMs, before.mtimeMs);

    await putRecordObjects(h.store, makeRecords(10, 32, Date.parse('2026-11-10T08:00:00Z'), 1000), 10, 'fixture2');
    const more = await runJob({ job: 'reconcile', trigger: 'cli' }, deps(h));
    assert.equal(more.snapshotPublished, true);
    const total = await readSnapshot(h, 'SELECT sum(requests) AS r FROM rollup_daily');
    assert.deepEqual(total, [{ r: '710' }]);
  });

  test('a writer waits for the lock holder up to lock_wait_seconds, then runs', async () => {
    const holder = await holdLock(h.settings.dbFile);
    holders.push(holder);
    let sawWait!: () => void;
    const waitLogged = new Promise<void>((resolve) => (sawWait = resolve));
    const log = pino({ level: 'info' }, {
      write(line: string) {
        if (line.includes('held by another writer; waiting')) sawWait();
      },
    });
    const waiting = runJob({ job: 'rollup', trigger: 'cli' }, deps(h, { log, settings: { ...h.settings, lockWaitMs: 20_000 } }));
    await waitLogged;
    await holder.release();
    const summary = await waiting;
    assert.equal(summary.status, 'success');
  });

  test('a second writer in the same process is refused instead of corrupting the file', async () => {
    const db = await openWriter(h.settings.dbFile);
    try {
      await assert.rejects(openWriter(h.settings.dbFile), /another job in this process/);
    } finally {
      db.close();
    }
  });

  test('tagspend jobs run exits 75 with a clear message while another process writes the file', async () => {
    const holder = await holdLock(h.settings.dbFile);
    holders.push(holder);
    const child = spawn(process.execPath, [join(ROOT, 'bin/tagspend.js'), 'jobs', 'run', 'ingest', '--data-dir', h.dir, '--store', h.store.url], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TAGSPEND_LOG_LEVEL: 'silent' },
    });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const [code] = await once(child, 'exit');
    await holder.release();
    assert.equal(code, 75);
    assert.match(stderr, /^tagspend: the DuckDB file .*tagspend\.duckdb is being written by process \d+/);
  });
});
