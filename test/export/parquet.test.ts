import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { runJob } from '../../jobs/run/runner.ts';
import { jobSettings } from '../../jobs/run/settings.ts';
import { loadConfig } from '../../src/config/load.ts';
import { selectRows, type Json } from '../../src/db/rows.ts';
import { silentLogger } from '../../src/log.ts';
import { parseBillFiles } from '../../src/trueup/parse.ts';
import { makeRecords, putRecordObjects } from '../helpers/spend-fixtures.ts';
import { createHarness, type Harness } from '../jobs/harness.ts';
import { runCli } from '../helpers/run-cli.ts';

const START = Date.parse('2026-11-02T00:00:00Z');
// The same totals, per day, from DuckDB's spend_logs and from the Parquet copy.
const TOTALS = `SELECT strftime("day", '%Y-%m-%d') AS dt, count(*) AS n, sum(cost_usd)::VARCHAR AS cost, sum(billed_usd)::VARCHAR AS billed,
  sum(total_tokens) AS tokens, count(DISTINCT request_id) AS ids, sum(len(tags)) AS tags, sum(cardinality(metadata)) AS meta
  FROM {{src}} GROUP BY ALL ORDER BY dt`;

describe('Parquet export', () => {
  let h: Harness;
  const deps = () => ({ settings: h.settings, store: h.store, log: silentLogger, now: () => new Date('2026-11-10T12:00:00Z') });

  /** Reads the store's Parquet objects back with DuckDB, as another engine would, partitions from the path. */
  async function fromParquet(text: string): Promise<Record<string, Json>[]> {
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    try {
      const glob = `${h.store.root}/parquet/spend_logs/*/*.parquet`.replaceAll("'", "''");
      await conn.run(`CREATE VIEW exported AS SELECT * FROM read_parquet('${glob}', hive_partitioning = true)`);
      return await selectRows(conn, text);
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
  }
  async function objects(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for await (const o of h.store.list('parquet/')) out.set(o.key, o.etag);
    return out;
  }

  before(async () => {
    h = await createHarness({ jobs: { export_parquet: true } });
    await putRecordObjects(h.store, makeRecords(2000, 9, START, 150_000), 500); // 2026-11-02 .. 2026-11-05
  });
  after(async () => h?.cleanup());

  test('reconcile writes one Hive partition per day that DuckDB reads back with identical totals and types', async () => {
    const run = await runJob({ job: 'reconcile', trigger: 'cli', full: true }, deps());
    assert.equal(run.status, 'success', run.error ?? '');
    assert.ok(run.timings.parquet !== undefined, 'the parquet step ran as part of reconcile');
    assert.deepEqual([...(await objects()).keys()], ['2026-11-02', '2026-11-03', '2026-11-04', '2026-11-05'].map((d) => `parquet/spend_logs/dt=${d}/part-0.parquet`));
    const expected = await h.rows(TOTALS.replace('{{src}}', 'spend_logs'));
    assert.equal(expected.length, 4);
    assert.deepEqual(await fromParquet(TOTALS.replace('{{src}}', 'exported').replace('strftime("day", \'%Y-%m-%d\') AS dt', 'dt::VARCHAR AS dt')), expected);
    const types = async (rows: Record<string, Json>[]) => rows.map((r) => `${String(r.column_name)} ${String(r.column_type)}`);
    const inDuck = await types(await h.rows('DESCRIBE spend_logs'));
    const inParquet = await types(await fromParquet('DESCRIBE SELECT * EXCLUDE (dt) FROM exported'));
    assert.deepEqual(inParquet, inDuck, 'every column, with its DuckDB type');
    const exported = await h.rows(`SELECT count(*) AS n, sum("rows")::BIGINT AS r FROM parquet_exports`);
    assert.deepEqual(exported, [{ n: '4', r: '2000' }]);
  });

  test('only the days that changed are written again: late records, a true-up, and nothing at all', async () => {
    const first = await objects();
    const late = makeRecords(120, 13, START + 86_400_000 + 3_600_000, 30_000).map((r) => ({ ...r, request_id: `late-${r.request_id}` })); // 2026-11-03
    await putRecordObjects(h.store, late, 120, 'late1');
    const run = await runJob({ job: 'reconcile', trigger: 'cli', full: true }, deps());
    assert.equal(run.rows, 120);
    const second = await objects();
    const changed = [...second].filter(([k, etag]) => first.get(k) !== etag).map(([k]) => k);
    assert.deepEqual(changed, ['parquet/spend_logs/dt=2026-11-03/part-0.parquet']);

    const day = (await h.rows(`SELECT sum(cost_usd)::VARCHAR AS s FROM spend_logs WHERE ts::DATE = '2026-11-04' AND provider = 'openai'`))[0]!;
    const bill = parseBillFiles('csv', [{ name: 'b.csv', text: `date,provider,amount_usd\n2026-11-04,openai,${String(day.s)}\n` }]);
    await runJob({ job: 'trueup', trigger: 'cli', bill: bill.lines }, deps());
    await runJob({ job: 'reconcile', trigger: 'cli' }, deps());
    const third = await objects();
    assert.deepEqual([...third].filter(([k, etag]) => second.get(k) !== etag).map(([k]) => k), ['parquet/spend_logs/dt=2026-11-04/part-0.parquet']);
    assert.deepEqual(
      await fromParquet(TOTALS.replace('{{src}}', 'exported').replace('strftime("day", \'%Y-%m-%d\') AS dt', 'dt::VARCHAR AS dt')),
      await h.rows(TOTALS.replace('{{src}}', 'spend_logs')),
      'late rows and billed shares are in the Parquet copy',
    );
    const noop = await runJob({ job: 'parquet', trigger: 'cli' }, deps());
    assert.equal(noop.status, 'success');
    assert.deepEqual(await objects(), third, 'nothing changed: nothing written');
  });

  test('a timezone change moves rows between days; days left without rows lose their objects', async () => {
    const settings = jobSettings(loadConfig({ env: {}, cwd: h.dir, overrides: { data_dir: h.dir, store: { url: h.store.url }, timezone: 'Etc/GMT+12', jobs: { threads: 2, export_parquet: true } } }));
    const run = await runJob({ job: 'reconcile', trigger: 'cli' }, { ...deps(), settings });
    assert.equal(run.status, 'success', run.error ?? '');
    const keys = [...(await objects()).keys()];
    // UTC-12: the records of 2026-11-05 (00:00-11:20 UTC) all fall on the 4th; a 1st appears.
    assert.deepEqual(keys, ['2026-11-01', '2026-11-02', '2026-11-03', '2026-11-04'].map((d) => `parquet/spend_logs/dt=${d}/part-0.parquet`));
    assert.deepEqual(await h.rows(`SELECT strftime("day", '%Y-%m-%d') AS d FROM parquet_exports ORDER BY 1`), [{ d: '2026-11-01' }, { d: '2026-11-02' }, { d: '2026-11-03' }, { d: '2026-11-04' }]);
    assert.deepEqual(
      await fromParquet(TOTALS.replace('{{src}}', 'exported').replace('strftime("day", \'%Y-%m-%d\') AS dt', 'dt::VARCHAR AS dt')),
      await h.rows(TOTALS.replace('{{src}}', 'spend_logs')),
    );
  });

  test('tagspend export parquet --full writes every day again', async () => {
    const before = await objects();
    const r = await runCli(['export', 'parquet', '--full', '--data-dir', h.dir, '--store', h.store.url], { TAGSPEND_TIMEZONE: 'Etc/GMT+12' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^parquet #\d+ success /);
    const after = await objects();
    assert.deepEqual([...after.keys()], [...before.keys()]);
    assert.ok([...after].every(([k, etag]) => before.get(k) !== etag), 'every object was written again');
  });
});
