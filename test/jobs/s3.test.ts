import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runJob } from '../../jobs/run/runner.ts';
import { silentLogger } from '../../src/log.ts';
import { S3Store } from '../../src/store/s3.ts';
import { makeRecords, objectKey, putNdjsonObject, putRecordObjects, toNdjson } from '../helpers/spend-fixtures.ts';
import { s3TestOptions, startS3Server, type S3Server } from '../helpers/s3server.ts';
import { createHarness, type Harness } from './harness.ts';

describe('ingest from S3', () => {
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
});
