import assert from 'node:assert/strict';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { runJob } from '../../jobs/run/runner.ts';
import { MIGRATIONS, SCHEMA_VERSION, migrate, schemaVersion } from '../../src/db/migrate.ts';
import { openReader, openWriter } from '../../src/db/open.ts';
import { selectRows, type Json } from '../../src/db/rows.ts';
import { SchemaTooNewError } from '../../src/errors.ts';
import { silentLogger } from '../../src/log.ts';
import { createHarness, type Harness } from '../jobs/harness.ts';

// A DuckDB file written by tagspend 0.1 (commit 8b2b34f, before migrations existed): `tagspend
// demo --requests 120`, gzipped. Its data must survive every migration.
const FIXTURE = new URL('../fixtures/tagspend-0.1.duckdb.gz', import.meta.url);

const FINGERPRINT = `
  SELECT (SELECT count(*) FROM spend_logs) AS records,
         (SELECT sum(cost_usd) FROM spend_logs) AS spend,
         (SELECT string_agg(request_id, ',' ORDER BY request_id) FROM spend_logs) AS ids,
         (SELECT sum(spend_usd) FROM rollup_daily_tag_key) AS tag_key_spend,
         (SELECT count(*) FROM rollup_daily_user) AS user_rows,
         (SELECT count(*) FROM ingested_objects) AS objects,
         (SELECT count(*) FROM budget_status) AS budget_rows,
         (SELECT count(*) FROM job_runs) AS runs`;

async function withReader<T>(file: string, work: (rows: (t: string) => Promise<Record<string, Json>[]>) => Promise<T>): Promise<T> {
  const db = await openReader(file);
  try {
    return await work((t) => selectRows(db.conn, t));
  } finally {
    db.close();
  }
}

describe('schema migrations', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness();
    await pipeline(createReadStream(FIXTURE), createGunzip(), createWriteStream(h.settings.dbFile));
  });
  after(() => h.cleanup());

  test('migrations are numbered 1..N without gaps and the build knows the newest', () => {
    assert.deepEqual(
      MIGRATIONS.map((m) => m.version),
      Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1),
    );
    assert.equal(MIGRATIONS[0]!.name, 'migrations/0001_initial');
  });

  test('a file written by tagspend 0.1 upgrades to the current schema with its data intact', async () => {
    const beforeRows = await withReader(h.settings.dbFile, async (rows) => {
      assert.equal(Number((await rows("SELECT count(*) AS n FROM duckdb_tables() WHERE table_name = 'schema_migrations'"))[0]!.n), 0);
      return (await rows(FINGERPRINT))[0]!;
    });
    assert.equal(beforeRows.records, '120');

    const summary = await runJob({ job: 'reconcile', trigger: 'cli' }, { settings: h.settings, store: h.store, log: silentLogger });
    assert.equal(summary.status, 'success', summary.error ?? '');
    assert.equal(summary.rows, 0, 'the fixture has no objects in this store: nothing new to load');

    await withReader(h.settings.dbFile, async (rows) => {
      const afterRows = (await rows(FINGERPRINT))[0]!;
      // The reconcile run adds its own job_runs and budget rows; everything else is unchanged.
      assert.deepEqual({ ...afterRows, runs: null, budget_rows: null }, { ...beforeRows, runs: null, budget_rows: null });
      assert.equal(Number(afterRows.runs), Number(beforeRows.runs) + 1);
      const applied = await rows('SELECT version, name FROM schema_migrations ORDER BY version');
      assert.deepEqual(
        applied.map((r) => Number(r.version)),
        MIGRATIONS.map((m) => m.version),
      );
      assert.equal(applied[0]!.name, '0001_initial');
      // Migration 4: cache_write_1h_tokens is 0 for every old row and in every rollup.
      const oneHour = await rows(`SELECT (SELECT count(*) FROM spend_logs WHERE cache_write_1h_tokens = 0) AS logs,
        (SELECT sum(cache_write_1h_tokens) FROM rollup_daily_tag_key) AS tag_key, (SELECT sum(cache_write_1h_tokens) FROM rollup_daily) AS daily`);
      assert.deepEqual(oneHour[0], { logs: beforeRows.records, tag_key: '0', daily: '0' });
    });
    // The published snapshot carries the version too.
    await withReader(h.settings.snapshotFile, async (rows) => {
      assert.equal(Number((await rows('SELECT max(version) AS v FROM schema_migrations'))[0]!.v), SCHEMA_VERSION);
    });
  });

  test('migrating an up-to-date file applies nothing', async () => {
    const db = await openWriter(h.settings.dbFile);
    try {
      assert.equal(await schemaVersion(db.conn), SCHEMA_VERSION);
      assert.deepEqual(await migrate(db.conn, db.path), []);
    } finally {
      db.close();
    }
  });

  test('a file newer than this build is refused by readers and by the writer, unchanged', async () => {
    const db = await openWriter(h.settings.dbFile);
    try {
      await db.conn.run(`INSERT INTO schema_migrations VALUES (${SCHEMA_VERSION + 1}, 'from_the_future', now())`);
      await assert.rejects(migrate(db.conn, db.path), (err: unknown) => {
        assert.ok(err instanceof SchemaTooNewError);
        assert.match(err.message, new RegExp(`schema version ${SCHEMA_VERSION + 1}, newer than this tagspend understands \\(${SCHEMA_VERSION}\\)`));
        assert.match(err.message, /upgrade tagspend/);
        return true;
      });
    } finally {
      db.close();
    }
    await assert.rejects(openReader(h.settings.dbFile), SchemaTooNewError);
    await assert.rejects(runJob({ job: 'reconcile', trigger: 'cli' }, { settings: h.settings, store: h.store, log: silentLogger }), SchemaTooNewError);
    await withReader(h.settings.snapshotFile, async (rows) => {
      assert.equal(Number((await rows('SELECT max(version) AS v FROM schema_migrations'))[0]!.v), SCHEMA_VERSION, 'no snapshot published from it');
    });
  });
});
