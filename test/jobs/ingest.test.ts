import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { runIngest } from '../../jobs/steps/ingest.ts';
import {
  makeRecords,
  objectKey,
  putNdjsonObject,
  putRecordObjects,
  toNdjson,
} from '../helpers/spend-fixtures.ts';
import type { SpendRecord } from '../../src/spend/record.ts';
import { createHarness, type Harness } from './harness.ts';

const START = Date.parse('2026-11-08T22:00:00Z');
const FINGERPRINT = `SELECT request_id, ts::VARCHAR AS ts, "day"::VARCHAR AS day, cost_usd::VARCHAR AS cost,
  tags, "user", metadata::VARCHAR AS metadata, source_key FROM spend_logs ORDER BY request_id`;

async function ingestOnce(h: Harness, options: Parameters<typeof runIngest>[1] = {}) {
  const ctx = await h.context();
  try {
    return await runIngest(ctx, options);
  } finally {
    ctx.db.close();
  }
}

describe('ingest', () => {
  let h: Harness;
  after(async () => h?.cleanup());

  test('loads every record of every object with typed columns, and a re-run loads nothing', async () => {
    h = await createHarness();
    const records = makeRecords(900, 1, START, 60_000);
    const keys = await putRecordObjects(h.store, records, 200);
    const first = await ingestOnce(h);
    assert.deepEqual(first, { objects: 5, rows: 900, duplicates: 0, rejected: 0, batches: 1 });

    const rows = await h.rows(`SELECT request_id, ts::VARCHAR AS ts, model, prompt_tokens, cost_usd::VARCHAR AS cost,
      tags, "user", metadata, source_key FROM spend_logs ORDER BY ts`);
    assert.equal(rows.length, 900);
    const r0 = records[0]!;
    assert.equal(rows[0]!.request_id, r0.request_id);
    assert.equal(Date.parse(`${rows[0]!.ts}Z`), Date.parse(r0.ts));
    assert.equal(rows[0]!.prompt_tokens, String(r0.prompt_tokens));
    assert.deepEqual(rows[0]!.tags, r0.tags);
    assert.equal(rows[0]!.source_key, keys[0]);
    const priced = records.filter((r) => r.cost_usd !== null).length;
    assert.equal(rows.filter((r) => r.cost !== null).length, priced);

    const manifest = await h.rows(`SELECT "key", "rows", duplicates, rejected FROM ingested_objects ORDER BY "key"`);
    assert.deepEqual(manifest.map((m) => m.key), keys);
    assert.deepEqual(manifest.map((m) => Number(m.rows)), [200, 200, 200, 200, 100]);

    const again = await ingestOnce(h);
    assert.deepEqual(again, { objects: 0, rows: 0, duplicates: 0, rejected: 0, batches: 0 });
    const count = await h.rows('SELECT count(*) AS n FROM spend_logs');
    assert.equal(count[0]!.n, '900');
  });

  test('a request id shipped in two objects is stored once, from the first object in key order', async () => {
    await h.cleanup();
    h = await createHarness();
    const records = makeRecords(300, 2, START, 60_000);
    const [firstKey] = await putRecordObjects(h.store, records.slice(0, 150), 150);
    // The same segment re-shipped under another key, plus an object repeating a record inside itself.
    const reshipped = objectKey('fixture2', START, 0);
    await putNdjsonObject(h.store, reshipped, toNdjson(records.slice(0, 150)));
    const later = objectKey('fixture1', Date.parse(records[150]!.ts), 9);
    await putNdjsonObject(h.store, later, toNdjson([...records.slice(150), records[200]!]));

    const result = await ingestOnce(h);
    assert.equal(result.rows, 300);
    assert.equal(result.duplicates, 151);
    const dupes = await h.rows('SELECT request_id FROM spend_logs GROUP BY request_id HAVING count(*) > 1');
    assert.deepEqual(dupes, []);
    const sources = await h.rows(`SELECT DISTINCT source_key FROM spend_logs ORDER BY 1`);
    assert.deepEqual(sources.map((s) => s.source_key), [firstKey, later].sort());
    const manifest = await h.rows(`SELECT "key", "rows", duplicates FROM ingested_objects ORDER BY "key"`);
    const byKey = new Map(manifest.map((m) => [m.key, [Number(m.rows), Number(m.duplicates)]]));
    assert.deepEqual(byKey.get(reshipped), [0, 150]);
    assert.deepEqual(byKey.get(later), [150, 1]);

    // A later run meeting the same ids again stores nothing new.
    await putNdjsonObject(h.store, objectKey('fixture3', START, 0), toNdjson(records.slice(100, 120)));
    const rerun = await ingestOnce(h);
    assert.deepEqual([rerun.objects, rerun.rows, rerun.duplicates], [1, 0, 20]);
  });

  test('copies across batches, within a batch and of rows stored before a checkpoint keep the first copy in key order', async () => {
    await h.cleanup();
    // Two objects per batch: copies meet across batches, within a batch and within an object.
    h = await createHarness({ jobs: { batch_max_objects: 2 } });
    const records = makeRecords(400, 12, START, 60_000);
    const at = (i: number): number => Date.parse(records[i]!.ts);
    // What the store holds, in key order per run; the first copy of an id in that order is kept.
    const run1: [string, SpendRecord[]][] = [
      [objectKey('fixture1', at(0), 0), records.slice(0, 100)],
      [objectKey('fixture1', at(100), 1), [...records.slice(100, 200), records[150]!, records[20]!]],
      [objectKey('fixture1', at(200), 2), records.slice(200, 300)],
      // A segment shipped again late (old ids, a later key) in the same batch as new records.
      [objectKey('fixture1', at(250), 3), [...records.slice(40, 60), records[299]!]],
    ];
    const run2: [string, SpendRecord[]][] = [
      [objectKey('fixture2', at(300), 0), [...records.slice(300, 400), ...records.slice(0, 10), records[150]!]],
      [objectKey('fixture2', at(350), 1), [records[320]!, records[399]!, records[5]!]],
    ];
    const expected = new Map<string, string>();
    const expectedCounts = new Map<string, [number, number]>();
    for (const [key, recs] of [...run1, ...run2]) {
      let stored = 0;
      for (const r of recs) {
        if (expected.has(r.request_id)) continue;
        expected.set(r.request_id, key);
        stored++;
      }
      expectedCounts.set(key, [stored, recs.length - stored]);
    }
    for (const [key, recs] of run1) await putNdjsonObject(h.store, key, toNdjson(recs));
    const first = await ingestOnce(h);
    assert.deepEqual([first.objects, first.batches, first.rows, first.duplicates], [4, 2, 300, 23]);
    // The snapshot's CHECKPOINT compacts the table around the deleted copies (rowids move).
    await h.rows('CHECKPOINT');
    for (const [key, recs] of run2) await putNdjsonObject(h.store, key, toNdjson(recs));
    const second = await ingestOnce(h);
    assert.deepEqual([second.objects, second.batches, second.rows, second.duplicates], [2, 1, 100, 14]);

    const stored = await h.rows('SELECT request_id, source_key FROM spend_logs ORDER BY request_id');
    assert.deepEqual(
      stored.map((r) => [r.request_id, r.source_key]),
      [...expected].sort(([a], [b]) => (a < b ? -1 : 1)),
    );
    const manifest = await h.rows('SELECT "key", "rows", duplicates FROM ingested_objects ORDER BY "key"');
    assert.deepEqual(
      manifest.map((m) => [m.key, [Number(m.rows), Number(m.duplicates)]]),
      [...expectedCounts].sort(([a], [b]) => (a < b ? -1 : 1)),
    );
  });

  test('schema 1 records (no cache_write_1h_tokens) and schema 2 records load side by side, in one object and on the slow path', async () => {
    await h.cleanup();
    h = await createHarness();
    const records = makeRecords(6, 5, START, 60_000);
    const v1 = (i: number): string => {
      const { cache_write_1h_tokens: _, ...rest } = records[i]!;
      return JSON.stringify({ ...rest, schema: 1 });
    };
    const v2 = (i: number): string => JSON.stringify({ ...records[i]!, cache_write_tokens: 900, cache_write_1h_tokens: 600 });
    await putNdjsonObject(h.store, objectKey('fixture1', START, 0), [v1(0), v2(1), v1(2)].join('\n') + '\n');
    // A bad line sends this object down the slow path, line by line.
    await putNdjsonObject(h.store, objectKey('fixture1', START + 1, 1), [v2(3), 'not json', v1(4), v2(5)].join('\n') + '\n');
    const result = await ingestOnce(h);
    assert.deepEqual([result.rows, result.rejected], [6, 1]);
    const rows = await h.rows(`SELECT request_id, "schema", cache_write_tokens, cache_write_1h_tokens FROM spend_logs ORDER BY ts`);
    assert.deepEqual(
      rows.map((r) => [r.schema, r.cache_write_1h_tokens]),
      [[1, '0'], [2, '600'], [1, '0'], [2, '600'], [1, '0'], [2, '600']],
    );
  });

  test('malformed, mistyped, incomplete and torn lines land in rejected_lines and the rest is loaded', async () => {
    await h.cleanup();
    h = await createHarness();
    const records = makeRecords(8, 3, START, 60_000);
    const line = (i: number, patch: Record<string, unknown> = {}): string => JSON.stringify({ ...records[i]!, ...patch });
    const mistyped = line(3, { prompt_tokens: 'lots' });
    const dupKey = line(4).replace('{"schema":2,', '{"schema":2,"schema":2,');
    const lines = [
      line(0),
      'this is not json',
      line(1),
      '[1,2,3]',
      '',
      line(2, { schema: 3 }),
      mistyped,
      dupKey,
      line(5, { request_id: '' }),
      line(6),
      line(7).slice(0, 80), // torn: the writer died mid-line, no newline after it
    ];
    const key = objectKey('fixture1', START, 0);
    await putNdjsonObject(h.store, key, lines.join('\n'));
    const good = objectKey('fixture1', START + 1, 1);
    await putNdjsonObject(h.store, good, toNdjson(makeRecords(50, 4, START, 1000)));

    const result = await ingestOnce(h);
    assert.deepEqual([result.objects, result.rows, result.rejected], [2, 53, 7]);
    const stored = await h.rows(`SELECT request_id FROM spend_logs WHERE source_key = '${key}' ORDER BY ts`);
    assert.deepEqual(stored.map((r) => r.request_id), [records[0]!.request_id, records[1]!.request_id, records[6]!.request_id]);

    const rejected = await h.rows(`SELECT object_key, line_number, raw, reason FROM rejected_lines ORDER BY line_number`);
    assert.deepEqual(rejected.map((r) => Number(r.line_number)), [2, 4, 6, 7, 8, 9, 11]);
    assert.ok(rejected.every((r) => r.object_key === key));
    const byLine = new Map(rejected.map((r) => [Number(r.line_number), r]));
    assert.equal(byLine.get(2)!.raw, 'this is not json');
    assert.match(String(byLine.get(2)!.reason), /not valid JSON/);
    assert.match(String(byLine.get(4)!.reason), /not a JSON object/);
    assert.match(String(byLine.get(6)!.reason), /unsupported schema 3/);
    assert.equal(byLine.get(7)!.raw, mistyped);
    assert.match(String(byLine.get(7)!.reason), /does not fit the record schema: .*lots/);
    assert.match(String(byLine.get(8)!.reason), /duplicate key/);
    assert.match(String(byLine.get(9)!.reason), /request_id/);
    assert.equal(byLine.get(11)!.raw, line(7).slice(0, 80));

    const manifest = await h.rows(`SELECT "rows", rejected FROM ingested_objects WHERE "key" = '${key}'`);
    assert.deepEqual(manifest.map((m) => [Number(m.rows), Number(m.rejected)]), [[3, 7]]);
  });

  test('an object that is not gzip at all is kept as one rejected line', async () => {
    await h.cleanup();
    h = await createHarness();
    const key = objectKey('fixture1', START, 0);
    await h.store.put(key, Buffer.from(toNdjson(makeRecords(3, 5, START, 1000))));
    const result = await ingestOnce(h);
    assert.deepEqual([result.objects, result.rows, result.rejected], [1, 0, 1]);
    const rejected = await h.rows('SELECT line_number, reason FROM rejected_lines');
    assert.match(String(rejected[0]!.reason), /could not be decompressed/);
  });

  test('a failure after download leaves nothing behind, and the re-run matches a clean run', async () => {
    await h.cleanup();
    const records = makeRecords(600, 6, START, 30_000);

    h = await createHarness({ jobs: { batch_max_objects: 2 } });
    await putRecordObjects(h.store, records, 100);
    await ingestOnce(h);
    const clean = await h.rows(FINGERPRINT);
    await h.cleanup();

    h = await createHarness({ jobs: { batch_max_objects: 2 } });
    await putRecordObjects(h.store, records, 100);
    let batches = 0;
    await assert.rejects(
      ingestOnce(h, {
        hooks: {
          afterDownload() {
            if (++batches === 2) throw new Error('injected crash after download');
          },
        },
      }),
      /injected crash/,
    );
    const partial = await h.rows('SELECT count(*) AS n FROM spend_logs');
    assert.equal(partial[0]!.n, '200', 'the first batch committed, the second left nothing');
    await assert.rejects(
      ingestOnce(h, {
        hooks: {
          beforeCommit() {
            throw new Error('injected crash before commit');
          },
        },
      }),
      /before commit/,
    );
    const afterRollback = await h.rows('SELECT (SELECT count(*) FROM spend_logs) AS n, (SELECT count(*) FROM ingested_objects) AS m');
    assert.deepEqual(afterRollback[0], { n: '200', m: '2' });

    const rerun = await ingestOnce(h);
    assert.equal(rerun.rows, 400);
    assert.deepEqual(await h.rows(FINGERPRINT), clean);
  });

  test('a process killed inside the batch transaction recovers to exactly the rows of a clean run', async () => {
    await h.cleanup();
    const records = makeRecords(500, 9, START, 30_000);
    h = await createHarness({ jobs: { batch_max_objects: 2 } });
    await putRecordObjects(h.store, records, 100);
    await ingestOnce(h);
    const clean = await h.rows(FINGERPRINT);
    const cleanManifest = await h.rows('SELECT "key", "rows" FROM ingested_objects ORDER BY "key"');
    await h.cleanup();

    h = await createHarness({ jobs: { batch_max_objects: 2 } });
    await putRecordObjects(h.store, records, 100);
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./crash-child.ts', import.meta.url)), h.dir, h.store.url, '2', '2'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const [code, signal] = await once(child, 'exit');
    assert.deepEqual([code, signal], [null, 'SIGKILL']);
    const survived = await h.rows('SELECT (SELECT count(*) FROM spend_logs) AS n, (SELECT count(*) FROM ingested_objects) AS m');
    assert.deepEqual(survived[0], { n: '200', m: '2' }, 'only the first batch was committed');
    await ingestOnce(h);
    assert.deepEqual(await h.rows(FINGERPRINT), clean);
    assert.deepEqual(await h.rows('SELECT "key", "rows" FROM ingested_objects ORDER BY "key"'), cleanManifest);
  });

  test('incremental runs list only recent partitions; a full run finds late objects', async () => {
    await h.cleanup();
    h = await createHarness({ jobs: { ingest_lookback_days: 1 } });
    const old = makeRecords(10, 7, Date.parse('2026-11-01T10:00:00Z'), 1000);
    const recent = makeRecords(10, 8, Date.parse('2026-11-10T10:00:00Z'), 1000);
    await putRecordObjects(h.store, old, 10);
    await putRecordObjects(h.store, recent, 10);
    const inc = await ingestOnce(h);
    assert.deepEqual([inc.objects, inc.rows], [1, 10]);
    const full = await ingestOnce(h, { full: true });
    assert.deepEqual([full.objects, full.rows], [1, 10]);
  });
});
