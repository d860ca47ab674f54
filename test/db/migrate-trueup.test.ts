import assert from 'node:assert/strict';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { runJob } from '../../jobs/run/runner.ts';
import { migrate } from '../../src/db/migrate.ts';
import { openWriter } from '../../src/db/open.ts';
import { selectRows } from '../../src/db/rows.ts';
import { silentLogger } from '../../src/log.ts';
import { parseBillFiles } from '../../src/trueup/parse.ts';
import { createHarness, type Harness } from '../jobs/harness.ts';

// The file tagspend 0.1 wrote (test/db/migrate.test.ts): migration 2 adds the true-up columns
// and tables to it and leaves every row as it was.
const FIXTURE = new URL('../fixtures/tagspend-0.1.duckdb.gz', import.meta.url);
const ROLLUPS = ['rollup_daily', 'rollup_daily_tag', 'rollup_daily_tag_key', 'rollup_daily_user', 'rollup_daily_metadata', 'rollup_daily_model', 'rollup_daily_key'];

describe('migration 2 (true-up and exports)', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness();
    await pipeline(createReadStream(FIXTURE), createGunzip(), createWriteStream(h.settings.dbFile));
  });
  after(() => h.cleanup());

  test('adds billed_usd to spend_logs and every rollup, and the true-up tables, with the data intact', async () => {
    const db = await openWriter(h.settings.dbFile);
    try {
      const rows = (t: string) => selectRows(db.conn, t);
      const fingerprint = async () => ({
        logs: (await rows('SELECT count(*) AS n, sum(cost_usd)::VARCHAR AS s, string_agg(request_id, \',\' ORDER BY request_id) AS ids FROM spend_logs'))[0],
        rollups: await Promise.all(ROLLUPS.map(async (t) => (await rows(`SELECT count(*) AS n, sum(spend_usd)::VARCHAR AS s, sum(requests)::VARCHAR AS r FROM ${t}`))[0])),
        runs: (await rows('SELECT count(*) AS n FROM job_runs'))[0],
      });
      const beforeRows = await fingerprint();
      assert.equal(beforeRows.logs!.n, '120');
      const applied = await migrate(db.conn, db.path);
      assert.ok(applied.includes(2));
      assert.deepEqual(await fingerprint(), beforeRows);
      assert.deepEqual(await rows('SELECT count(*) AS n, count(billed_usd) AS billed FROM spend_logs'), [{ n: '120', billed: '0' }]);
      for (const t of ROLLUPS) {
        const r = (await rows(`SELECT count(*) FILTER (WHERE billed_usd <> 0 OR billed_usd IS NULL) AS odd, count(*) AS n FROM ${t}`))[0]!;
        assert.equal(r.odd, '0', `${t}: existing rows read billed 0`);
        assert.ok(Number(r.n) > 0, t);
      }
      for (const t of ['billed_costs', 'trueup_pools', 'trueup_pending_days', 'parquet_exports']) {
        assert.deepEqual(await rows(`SELECT count(*) AS n FROM ${t}`), [{ n: '0' }], t);
      }
      assert.deepEqual(await rows('SELECT count(billed) AS n FROM job_runs'), [{ n: '0' }]);
    } finally {
      db.close();
    }
  });

  test('the upgraded file takes a bill and allocates it to its old records', async () => {
    const day = (await h.rows(`SELECT ts::DATE::VARCHAR AS d, provider, sum(cost_usd)::VARCHAR AS s FROM spend_logs WHERE cost_usd > 0 GROUP BY ALL ORDER BY s DESC LIMIT 1`))[0]!;
    const parsed = parseBillFiles('csv', [{ name: 'bill.csv', text: `date,provider,amount_usd\n${String(day.d)},${String(day.provider)},${String(day.s)}\n` }]);
    const run = await runJob({ job: 'trueup', trigger: 'cli', bill: parsed.lines }, { settings: h.settings, store: h.store, log: silentLogger });
    assert.equal(run.status, 'success', run.error ?? '');
    const r = await h.rows(`SELECT sum(billed_usd)::VARCHAR AS b FROM spend_logs WHERE ts::DATE = '${String(day.d)}' AND provider = '${String(day.provider)}'`);
    assert.equal(r[0]!.b, String(day.s).replace(/(\.\d{10})\d*$/, '$1'));
  });
});
