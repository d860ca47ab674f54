// Migration 5 (bills in the store): bills imported by an older tagspend live only in its DuckDB
// file; after the upgrade the next run copies them to the store, so a rebuild keeps them.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { runJob } from '../../jobs/run/runner.ts';
import { migrate } from '../../src/db/migrate.ts';
import { openWriter } from '../../src/db/open.ts';
import { selectRows } from '../../src/db/rows.ts';
import { silentLogger } from '../../src/log.ts';
import { parseBillDay } from '../../src/trueup/stored.ts';
import { createHarness, type Harness } from '../jobs/harness.ts';

const BILLS = 'SELECT provider, "day"::VARCHAR AS day, line_key, model, description, amount_usd::VARCHAR AS amount, source, source_file, source_line, raw FROM billed_costs ORDER BY ALL';

describe('migration 5 (bills in the store)', () => {
  let h: Harness;
  const reconcile = async (full = false) => {
    const run = await runJob({ job: 'reconcile', trigger: 'cli', full }, { settings: h.settings, store: h.store, log: silentLogger });
    assert.equal(run.status, 'success', run.error ?? '');
    return run;
  };

  before(async () => {
    h = await createHarness();
    // A file at schema 4 with bills in it, as tagspend wrote them before this version.
    const db = await openWriter(h.settings.dbFile);
    try {
      assert.deepEqual(await migrate(db.conn, db.path, new Date(), 4), [1, 2, 3, 4]);
      await db.conn.run(`INSERT INTO billed_costs VALUES
        ('openai', '2026-10-30', '["gpt-5, input"]', 'gpt-5', 'gpt-5, input', 3.25, 'openai', 'costs.json', 12, '{"amount":{"value":3.25}}', '2026-11-01 08:00:00', 1),
        ('openai', '2026-10-30', '["gpt-5, output"]', 'gpt-5', 'gpt-5, output', 0.0000000001, 'openai', 'costs.json', 20, '{}', '2026-11-01 08:00:00', 1),
        ('mistral', '2026-10-31', '[null,"invoice"]', NULL, 'invoice', 12.4, 'csv', 'invoice.csv', 2, '2026-10-31,mistral,,invoice,12.40', '2026-11-01 08:00:00', 2)`);
    } finally {
      db.close();
    }
  });
  after(() => h.cleanup());

  test('the first run after the upgrade writes the old bills to the store; a rebuild from the store keeps them', async () => {
    const bills = await h.rows(BILLS);
    assert.equal(bills.length, 3);
    await reconcile();
    assert.deepEqual(await h.rows('SELECT count(*) AS n FROM bill_unstored_days'), [{ n: '0' }]);
    const keys: string[] = [];
    for await (const o of h.store.list('bills/')) keys.push(o.key);
    assert.deepEqual(keys.sort(), ['bills/mistral/2026-10-31.json', 'bills/openai/2026-10-30.json']);
    const got = await h.store.get('bills/openai/2026-10-30.json');
    assert.ok(got !== null && 'body' in got);
    assert.deepEqual(parseBillDay('bills/openai/2026-10-30.json', got.body.toString('utf8')).map((l) => String(l.amountUnits)).sort(), ['1', '32500000000']);

    await rm(h.settings.dbFile, { force: true });
    await reconcile(true);
    assert.deepEqual(await h.rows(BILLS), bills);
  });

  test('migrate stops at the version asked for, and goes on from there', async () => {
    const db = await openWriter(`${h.dir}/partial.duckdb`);
    try {
      assert.deepEqual(await migrate(db.conn, db.path, new Date(), 2), [1, 2]);
      assert.deepEqual(await migrate(db.conn, db.path), [3, 4, 5]);
      assert.deepEqual(await selectRows(db.conn, 'SELECT max(version) AS v FROM schema_migrations'), [{ v: 5 }]);
    } finally {
      db.close();
    }
  });
});
