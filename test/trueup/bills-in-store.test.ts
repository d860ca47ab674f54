// Imported bills are kept in the store (bills/<provider>/<day>.json) and loaded back from it:
// a DuckDB file rebuilt from the store has the same bills and the same allocation; an import
// while the store is down is written by the next reconcile; a file from before migration 5 copies
// its bills out; an object that is not a bill day is skipped with an error and counted, and the
// others still load.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { runJob, type RunRequest } from '../../jobs/run/runner.ts';
import { promFileOf, readStatus } from '../../jobs/run/status-file.ts';
import { silentLogger } from '../../src/log.ts';
import type { SpendRecord } from '../../src/spend/record.ts';
import type { BillSource } from '../../src/trueup/bill.ts';
import { parseBillFiles } from '../../src/trueup/parse.ts';
import { billObjectKey, parseBillDay } from '../../src/trueup/stored.ts';
import { anthropicPage, openaiPage, pretty } from '../helpers/bills.ts';
import { FlakyStore } from '../helpers/flaky-store.ts';
import { makeRecords, putRecordObjects } from '../helpers/spend-fixtures.ts';
import { createHarness, type Harness } from '../jobs/harness.ts';

const START = Date.parse('2026-11-02T00:00:00Z');
const BILL_ROWS = 'SELECT provider, "day"::VARCHAR AS day, line_key, model, description, amount_usd::VARCHAR AS amount, source, source_file, source_line, raw FROM billed_costs ORDER BY ALL';
const ALLOCATION = `SELECT
  (SELECT string_agg(request_id || '=' || billed_usd::VARCHAR, ',' ORDER BY request_id) FROM spend_logs WHERE billed_usd IS NOT NULL) AS shares,
  (SELECT string_agg(concat_ws(' ', "day", provider, model_key, billed_usd, estimated_usd, allocated_usd, unattributed_usd, requests), ',' ORDER BY "day", provider, model_key) FROM trueup_pools) AS pools,
  (SELECT sum(billed_usd)::VARCHAR FROM rollup_daily) AS rolled_up`;

describe('bills in the store', () => {
  let h: Harness;
  let store: FlakyStore;
  let records: SpendRecord[];
  const deps = () => ({ settings: h.settings, store, log: silentLogger, now: () => new Date('2026-11-21T12:00:00Z') });
  const reconcile = async (full = false) => {
    const run = await runJob({ job: 'reconcile', trigger: 'cli', full }, deps());
    assert.equal(run.status, 'success', run.error ?? '');
    return run;
  };
  async function importBill(source: BillSource, name: string, text: string) {
    const parsed = parseBillFiles(source, [{ name, text }]);
    assert.deepEqual(parsed.problems, []);
    const req: RunRequest = { job: 'trueup', trigger: 'cli', bill: parsed.lines };
    const run = await runJob(req, deps());
    assert.equal(run.status, 'success', run.error ?? '');
    return run;
  }
  const keysUnder = async (prefix: string): Promise<string[]> => {
    const keys: string[] = [];
    for await (const o of store.list(prefix)) keys.push(o.key);
    return keys;
  };
  const objectText = async (key: string): Promise<string> => {
    const got = await store.get(key);
    assert.ok(got !== null && 'body' in got, `${key} exists`);
    return got.body.toString('utf8');
  };

  before(async () => {
    h = await createHarness();
    store = new FlakyStore(h.store);
    records = makeRecords(1500, 33, START, 150_000); // 2026-11-02 .. 2026-11-04
    await putRecordObjects(store, records, 500);
    await reconcile(true);
    await importBill(
      'openai',
      'openai-costs.json',
      pretty(
        openaiPage([
          { day: '2026-11-02', results: [{ usd: 0.75, line_item: 'gpt-5-2025-08-07, input' }, { usd: '1.2345678901', line_item: 'gpt-5-2025-08-07, output' }, { usd: 0.1, line_item: null }] },
          { day: '2026-11-03', results: [{ usd: 2, line_item: 'gpt-5-mini-2025-08-07, input' }] },
        ]),
      ),
    );
    await importBill('anthropic', 'anthropic-costs.json', pretty(anthropicPage([{ day: '2026-11-03', results: [{ cents: '321.5', model: 'claude-sonnet-4-5', token_type: 'output_tokens' }] }])));
    await importBill('csv', 'invoice.csv', 'date,provider,model,description,amount_usd\n2026-11-04,mistral,,November invoice,12.40\n');
  });
  after(async () => h?.cleanup());

  test('an import writes one object per provider and UTC day, holding exactly the lines billed_costs has', async () => {
    assert.deepEqual((await keysUnder('bills/')).sort(), [
      'bills/anthropic/2026-11-03.json',
      'bills/mistral/2026-11-04.json',
      'bills/openai/2026-11-02.json',
      'bills/openai/2026-11-03.json',
    ]);
    const fromObjects: string[] = [];
    for (const key of await keysUnder('bills/')) {
      for (const l of parseBillDay(key, await objectText(key))) {
        fromObjects.push(JSON.stringify([l.provider, l.day, l.lineKey, l.model, l.description, String(l.amountUnits), l.source, l.sourceFile, l.sourceLine, l.raw]));
      }
    }
    const rows = (await h.rows(BILL_ROWS)).map((r) =>
      JSON.stringify([r.provider, r.day, r.line_key, r.model, r.description, String(BigInt(String(r.amount).replace('.', ''))), r.source, r.source_file, Number(r.source_line), r.raw]),
    );
    assert.equal(rows.length, 6);
    assert.deepEqual(fromObjects.sort(), rows.sort());
    assert.deepEqual(await h.rows('SELECT count(*) AS n FROM bill_unstored_days'), [{ n: '0' }]);
  });

  test('re-importing the same bill leaves the objects as they are (same ETag)', async () => {
    const key = billObjectKey('openai', '2026-11-02');
    const before = (await store.head(key))!.etag;
    await new Promise((r) => setTimeout(r, 20)); // a rewrite would change the local store's mtime-based ETag
    await importBill('openai', 'openai-costs.json', pretty(openaiPage([{ day: '2026-11-02', results: [{ usd: 0.75, line_item: 'gpt-5-2025-08-07, input' }, { usd: '1.2345678901', line_item: 'gpt-5-2025-08-07, output' }, { usd: 0.1, line_item: null }] }])));
    assert.equal((await store.head(key))!.etag, before);
  });

  test('a DuckDB file rebuilt from the store has the same bills and the same allocation', async () => {
    const bills = await h.rows(BILL_ROWS);
    const allocation = await h.rows(ALLOCATION);
    assert.ok(String(allocation[0]!.shares).length > 100, 'the fixture allocates');
    await rm(h.settings.dbFile, { force: true });
    await rm(`${h.settings.dbFile}.wal`, { force: true });
    const run = await reconcile(true);
    assert.equal(run.rows, records.length);
    assert.ok(run.billed > 0);
    assert.deepEqual(await h.rows(BILL_ROWS), bills);
    assert.deepEqual(await h.rows(ALLOCATION), allocation);
    // Nothing left to load or write: the next run changes nothing.
    const again = await reconcile();
    assert.equal(again.billed, 0);
    assert.equal(again.snapshotPublished, false);
  });

  test('an import while the store refuses writes is stored in DuckDB, and the next reconcile writes it', async () => {
    store.putsDown = true;
    try {
      const run = await importBill('csv', 'late-invoice.csv', 'date,provider,model,description,amount_usd\n2026-11-04,groq,,November,3.30\n');
      assert.ok(run.billed > 0, 'imported and allocated');
    } finally {
      store.putsDown = false;
    }
    const key = billObjectKey('groq', '2026-11-04');
    assert.equal(await store.head(key), null);
    assert.deepEqual(await h.rows(`SELECT provider, "day"::VARCHAR AS day FROM bill_unstored_days`), [{ provider: 'groq', day: '2026-11-04' }]);
    await reconcile();
    assert.deepEqual(parseBillDay(key, await objectText(key)).map((l) => [l.description, String(l.amountUnits)]), [['November', '33000000000']]);
    assert.deepEqual(await h.rows('SELECT count(*) AS n FROM bill_unstored_days'), [{ n: '0' }]);
  });

  test('a day corrected in the store (another DuckDB file imported it) replaces the lines here and is allocated again', async () => {
    const other = await createHarness();
    try {
      const parsed = parseBillFiles('csv', [{ name: 'fix.csv', text: 'date,provider,model,description,amount_usd\n2026-11-03,openai,,credit note applied,1.50\n' }]);
      const run = await runJob({ job: 'trueup', trigger: 'cli', bill: parsed.lines }, { settings: other.settings, store, log: silentLogger });
      assert.equal(run.status, 'success', run.error ?? '');
    } finally {
      await other.cleanup();
    }
    const run = await reconcile();
    assert.ok(run.billed > 0);
    assert.deepEqual(await h.rows(`SELECT description, amount_usd::VARCHAR AS a FROM billed_costs WHERE provider = 'openai' AND "day" = '2026-11-03'`), [{ description: 'credit note applied', a: '1.5000000000' }]);
    const pool = await h.rows(`SELECT sum(allocated_usd + unattributed_usd)::VARCHAR AS s FROM trueup_pools WHERE provider = 'openai' AND "day" = '2026-11-03'`);
    assert.equal(pool[0]!.s, '1.5000000000');
  });

  test('an object that is not a bill day is skipped with an error, counted in the run status; the others load', async () => {
    await store.put('bills/openai/2026-11-05.json', '{"kind":"tagspend.bill_day","version":1,"provider":"openai","day":"2026-11-05","lines":[{"line_key":"x","amount_usd":"lots"}]}');
    // Written by hand the way docs/trueup.md describes the object.
    const handWritten = [
      '{"kind":"tagspend.bill_day","version":1,"provider":"openai","day":"2026-11-06","lines":[',
      '{"line_key":"[\\"support\\"]","model":null,"description":"support plan","amount_usd":"0.25","source":"csv","source_file":null,"source_line":null,"raw":null}',
      ']}',
    ].join('\n');
    await store.put('bills/openai/2026-11-06.json', handWritten);
    const run = await reconcile();
    assert.equal(run.invalidBills, 1);
    assert.deepEqual(await h.rows(`SELECT "day"::VARCHAR AS day, amount_usd::VARCHAR AS a FROM billed_costs WHERE "day" >= '2026-11-05' ORDER BY ALL`), [{ day: '2026-11-06', a: '0.2500000000' }]);
    const status = await readStatus(h.settings.statusFile);
    assert.equal(status.reconcile?.last_run.invalid_bills, 1);
    assert.match(readFileSync(promFileOf(h.settings.statusFile), 'utf8'), /^tagspend_job_last_run_invalid_bills\{job="reconcile"\} 1$/m);
    // Tried again on every run until it is fixed.
    assert.equal((await reconcile()).invalidBills, 1);
  });
});

describe('parseBillDay', () => {
  const key = 'bills/openai/2026-11-02.json';
  const doc = (over: Record<string, unknown> = {}, line: Record<string, unknown> = {}) =>
    JSON.stringify({ kind: 'tagspend.bill_day', version: 1, provider: 'openai', day: '2026-11-02', lines: [{ line_key: '["a"]', model: null, description: null, amount_usd: '1.25', source: 'openai', source_file: 'f.json', source_line: 3, raw: '{}', ...line }], ...over });
  test('reads a day and refuses anything else, naming the key and the reason', () => {
    assert.equal(parseBillDay(key, doc())[0]!.amountUnits, 12_500_000_000n);
    const bad: [string, string, RegExp][] = [
      [key, '{', /not valid JSON/],
      [key, doc({ kind: 'other' }), /"kind" must be/],
      [key, doc({ version: 2 }), /version 2/],
      [key, doc({ day: '2026-11-03' }), /do not match the key/],
      ['bills/openai/2026-11-02.txt', doc(), /the key is not/],
      ['bills/open%61i/2026-11-02.json', doc(), /spelt differently from bills\/openai\/2026-11-02.json/],
      [key, doc({}, { amount_usd: '1e9' }), /amount_usd/],
      [key, doc({}, { amount_usd: '100000000' }), /DECIMAL\(18,10\)/],
      [key, doc({}, { source: 'bank' }), /source must be/],
      [key, doc({}, { line_key: 7 }), /line_key must be text/],
      [key, doc({ lines: [JSON.parse(doc()).lines[0], JSON.parse(doc()).lines[0]] }), /appears twice/],
    ];
    for (const [k, text, reason] of bad) assert.throws(() => parseBillDay(k, text), (e: Error) => e.message.startsWith(`${k}: not a tagspend bill day:`) && reason.test(e.message), text);
  });
});
