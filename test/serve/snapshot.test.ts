// The read side's snapshot source on real snapshot files published by src/db/snapshot.ts: a
// request keeps the snapshot it started on while a newer one is published, its queries borrow
// the snapshot's connections one query at a time (side by side, never holding one while waiting
// for another), and the status file is re-read when the jobs replace it.
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { DuckDBConnection } from '@duckdb/node-api';
import { migrate } from '../../src/db/migrate.ts';
import { openWriter, type Db } from '../../src/db/open.ts';
import { selectOne } from '../../src/db/rows.ts';
import { publishSnapshot } from '../../src/db/snapshot.ts';
import { oneConnection } from '../../src/db/with-connection.ts';
import { silentLogger } from '../../src/log.ts';
import { freshness, StatusFile } from '../../src/serve/freshness.ts';
import { SnapshotSource } from '../../src/serve/snapshot.ts';

const DAY_MS = 86_400_000;
const NEWEST = Date.parse('2026-11-20T10:00:00Z');

/** The spend the open snapshot holds (rollup_daily), as a number. */
const spendOn = async (conn: DuckDBConnection): Promise<number> => Number((await selectOne(conn, 'SELECT coalesce(sum(spend_usd), 0) AS s FROM rollup_daily'))?.s);

/** Resolves once `n` callers are waiting; fails after a deadline (they never met: they ran one at a time). */
function meeting(n: number, ms = 10_000): () => Promise<void> {
  let arrived = 0;
  let open!: () => void;
  const all = new Promise<void>((resolve) => (open = resolve));
  return async () => {
    arrived += 1;
    if (arrived === n) open();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`only ${arrived} of ${n} queries ran at once`)), ms)));
    try {
      await Promise.race([all, late]);
    } finally {
      clearTimeout(timer);
    }
  };
}

describe('serve snapshot source', () => {
  let dir: string;
  let jobs: Db;
  let target: string;
  let day = 0;

  /** One more day of spend in the jobs' file, then a snapshot published over `target`. */
  async function publishDay(spend: number): Promise<void> {
    const d = new Date(Date.parse('2026-11-01T00:00:00Z') + day * DAY_MS).toISOString().slice(0, 10);
    day += 1;
    await jobs.conn.run(`INSERT INTO rollup_daily ("day", requests, errors, unpriced, prompt_tokens, completion_tokens, total_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, spend_usd)
      VALUES ($day::DATE, 1, 0, 0, 1, 1, 2, 0, 0, 0, $spend::DECIMAL(38, 10))`, { day: d, spend: String(spend) });
    await jobs.conn.run(`INSERT INTO spend_logs (request_id, ts, "day", tags, metadata, "schema", source_key, loaded_at)
      VALUES ($id, $ts::TIMESTAMP, $day::DATE, [], MAP {}, 1, 'test', $ts::TIMESTAMP)`, { id: `r${day}`, ts: new Date(NEWEST + day).toISOString(), day: d });
    await publishSnapshot(jobs, target, { publishedAt: new Date(NEWEST + DAY_MS + day), runId: day });
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tagspend-serve-snapshot-'));
    jobs = await openWriter(join(dir, 'tagspend.duckdb'));
    await migrate(jobs.conn, jobs.path);
    target = join(dir, 'tagspend-snapshot.duckdb');
  });
  after(async () => {
    jobs?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('a request keeps reading the snapshot it started on while a newer one is published; the next request reads the new one', async () => {
    await publishDay(1.5);
    const source = new SnapshotSource(target, { connections: 2, logger: silentLogger });
    try {
      let versionBefore = '';
      await source.withSnapshot(async (snap) => {
        versionBefore = snap.version;
        assert.equal(await snap.use(spendOn), 1.5);
        assert.equal(snap.meta.publishedMs, NEWEST + DAY_MS + 1);
        assert.equal(snap.meta.newestRecordMs, NEWEST + 1);
        await publishDay(2.25); // renamed over the path while this request runs
        assert.equal(await snap.use(spendOn), 1.5, 'the same request, the same snapshot');
        await source.withSnapshot(async (next) => {
          assert.notEqual(next.version, versionBefore);
          assert.equal(await next.use(spendOn), 3.75);
          assert.equal(next.meta.newestRecordMs, NEWEST + 2);
        });
        assert.equal(await snap.use(spendOn), 1.5, 'still the old file after a newer request');
      });
      await source.withSnapshot(async (snap) => assert.equal(await snap.use(spendOn), 3.75));
    } finally {
      await source.close();
    }
  });

  test('queries started together in one request run side by side on separate connections', async () => {
    const source = new SnapshotSource(target, { connections: 3, logger: silentLogger });
    try {
      const meet = meeting(3);
      const conns = await source.withSnapshot((snap) =>
        Promise.all([0, 1, 2].map(() => snap.use(async (conn) => (await meet(), await spendOn(conn), conn)))),
      );
      assert.equal(new Set(conns).size, 3);
    } finally {
      await source.close();
    }
  });

  test('requests asking for more connections than there are all finish: a waiting query holds no connection', async () => {
    const source = new SnapshotSource(target, { connections: 2, logger: silentLogger });
    try {
      // 8 requests of 3 queries each on 2 connections; a request that held a connection while
      // waiting for a second one would deadlock here.
      const sums = await Promise.all(
        Array.from({ length: 8 }, () => source.withSnapshot((snap) => Promise.all([snap.use(spendOn), snap.use(spendOn), snap.use(spendOn)]))),
      );
      assert.deepEqual(new Set(sums.flat()), new Set([3.75]));
    } finally {
      await source.close();
    }
  });

  test('one connection runs the queries asked for together one at a time, in the order asked', async () => {
    const use = oneConnection(jobs.conn);
    let running = 0;
    const order: number[] = [];
    const results = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        use(async (conn) => {
          running += 1;
          assert.equal(running, 1, 'two queries at once on one connection');
          const r = await spendOn(conn);
          order.push(i);
          running -= 1;
          return r;
        }),
      ),
    );
    assert.deepEqual(order, [0, 1, 2, 3]);
    assert.equal(results.length, 4);
    await assert.rejects(use(async () => Promise.reject(new Error('boom'))), /boom/);
    assert.equal(await use(spendOn), 3.75, 'a failed query does not stop the ones after it');
  });

  test('the status file is read again when the jobs replace it: a failed run shows without a new snapshot', async () => {
    const file = join(dir, 'jobs-status.json');
    const status = new StatusFile(file);
    const meta = { publishedMs: NEWEST, newestRecordMs: NEWEST - 1000 };
    assert.equal(freshness(meta, status.read()).last_reconcile_success, null, 'no status file yet');
    const run = (state: 'success' | 'failed', error: string | null) => ({
      reconcile: {
        last_run: { run_id: 1, status: state, started_at: '2026-11-20T11:00:00.000Z', ended_at: '2026-11-20T11:00:01.000Z', duration_seconds: 1, objects: 0, rows: 0, rejected: 0, error },
        last_success_at: '2026-11-20T11:00:01.000Z',
        consecutive_failures: state === 'failed' ? 1 : 0,
        runs: 1,
        failures: state === 'failed' ? 1 : 0,
      },
    });
    const replace = async (body: unknown): Promise<void> => {
      await writeFile(`${file}.tmp`, JSON.stringify(body));
      await rename(`${file}.tmp`, file); // as the runner writes it
    };
    await replace(run('success', null));
    assert.deepEqual(freshness(meta, status.read()), {
      last_reconcile_success: '2026-11-20T11:00:01.000Z',
      last_reconcile_failed: false,
      last_reconcile_error: null,
      snapshot_published_at: new Date(NEWEST).toISOString(),
      newest_record_at: new Date(NEWEST - 1000).toISOString(),
    });
    await replace(run('failed', 'store unreachable'));
    const failed = freshness(meta, status.read());
    assert.equal(failed.last_reconcile_failed, true);
    assert.equal(failed.last_reconcile_error, 'store unreachable');
  });
});
