import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { rm } from 'node:fs/promises';
import { runJob } from '../../jobs/run/runner.ts';
import { silentLogger } from '../../src/log.ts';
import { S3Store } from '../../src/store/s3.ts';
import { parseBillFiles } from '../../src/trueup/parse.ts';
import { makeRecords, objectKey, putNdjsonObject, putRecordObjects, toNdjson } from '../helpers/spend-fixtures.ts';
import { s3TestOptions, startS3Server, type S3Server } from '../helpers/s3server.ts';
import { createHarness, type Harness } from './harness.ts';

describe('jobs on S3', () => {
  let s3: S3Server;
  let store: S3Store;
  let h: Harness;
  before(async () => {
    s3 = await startS3Server();
    store = new S3Store(`s3://${s3.bucket}/tagspend`, s3TestOptions(s3.endpoint));
    h = await createHarness();
  });
  after(async () => {
    await store?.close();
    await s3?.close();
    await h?.cleanup();
  });

  test('objects in an S3-compatible store load like local ones: rows, rejects, duplicates, idempotent re-run', async () => {
    const start = Date.parse('2026-11-09T10:00:00Z');
    const records = makeRecords(1200, 61, start, 20_000);
    const keys = await putRecordObjects(store, records, 150);
    await putNdjsonObject(store, objectKey('other', start, 0), toNdjson([...records.slice(0, 30), '{"schema":1,"request_id"']));
    const deps = { settings: h.settings, store, log: silentLogger, now: () => new Date('2026-11-10T12:00:00Z') };

    const first = await runJob({ job: 'reconcile', trigger: 'cli' }, deps);
    assert.deepEqual([first.status, first.objects, first.rows, first.duplicates, first.rejected], ['success', keys.length + 1, 1200, 30, 1]);
    const sum = await h.rows('SELECT sum(requests) AS n FROM rollup_daily');
    assert.equal(sum[0]!.n, '1200');
    const rejected = await h.rows('SELECT object_key, line_number FROM rejected_lines');
    assert.deepEqual(rejected, [{ object_key: objectKey('other', start, 0), line_number: '31' }]);

    const again = await runJob({ job: 'reconcile', trigger: 'cli' }, deps);
    assert.deepEqual([again.objects, again.rows], [0, 0]);
  });

  test('bills go to S3 and come back: a rebuilt file has them, and an unchanged store is not read again', async () => {
    const deps = { settings: h.settings, store, log: silentLogger, now: () => new Date('2026-11-10T12:00:00Z') };
    const parsed = parseBillFiles('csv', [{ name: 'invoice.csv', text: 'date,provider,model,description,amount_usd\n2026-11-09,openai,,November,4.20\n2026-11-09,anthropic,,November,1.05\n' }]);
    const imported = await runJob({ job: 'trueup', trigger: 'cli', bill: parsed.lines }, deps);
    assert.equal(imported.status, 'success', imported.error ?? '');
    const keys: string[] = [];
    for await (const o of store.list('bills/')) keys.push(o.key);
    assert.deepEqual(keys.sort(), ['bills/anthropic/2026-11-09.json', 'bills/openai/2026-11-09.json']);
    const bills = 'SELECT provider, amount_usd::VARCHAR AS a FROM billed_costs ORDER BY provider';
    const shares = 'SELECT sum(billed_usd)::VARCHAR AS s, count(billed_usd) AS n FROM spend_logs';
    const before = [await h.rows(bills), await h.rows(shares)];
    assert.ok(Number(before[1]![0]!.n) > 0, 'the bill is allocated');
    // S3's ETags from PUT and from LIST agree: nothing is loaded back.
    const next = await runJob({ job: 'reconcile', trigger: 'cli' }, deps);
    assert.deepEqual([next.status, next.billed, next.snapshotPublished], ['success', 0, false]);

    await rm(h.settings.dbFile, { force: true });
    const rebuilt = await runJob({ job: 'reconcile', trigger: 'cli', full: true }, deps);
    assert.equal(rebuilt.status, 'success', rebuilt.error ?? '');
    assert.deepEqual([await h.rows(bills), await h.rows(shares)], before);
  });
});
