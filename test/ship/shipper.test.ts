import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import pino from 'pino';
import { silentLogger } from '../../src/log.ts';
import { ProxyMetrics } from '../../src/proxy/metrics.ts';
import { backoffDelay, realSleep } from '../../src/spool/backoff.ts';
import type { SpendRecord } from '../../src/spend/record.ts';
import { segmentBaseName, segmentObjectKey } from '../../src/spool/segment.ts';
import { Shipper, type ShipperOptions } from '../../src/spool/shipper.ts';
import { recoverSpool, SpendWriter } from '../../src/spool/writer.ts';
import { LocalStore } from '../../src/store/local.ts';
import { S3Store } from '../../src/store/s3.ts';
import type { ObjectStore } from '../../src/store/types.ts';
import { FlakyStore } from '../helpers/flaky-store.ts';
import { readStoredSpend } from '../helpers/store-records.ts';
import { waitFor } from '../helpers/proxy.ts';
import { s3TestOptions, startS3Server, type S3Server } from '../helpers/s3server.ts';

function record(id: string): SpendRecord {
  return {
    schema: 2, request_id: id, ts: '2026-11-27T20:53:01.123Z', end_ts: '2026-11-27T20:53:01.200Z', latency_ms: 77,
    instance: 'test.a', endpoint: '/v1/chat/completions', model: 'mock/m', provider: 'mock', upstream_model: 'm',
    stream: false, status: 200, outcome: 'success', prompt_tokens: 1, completion_tokens: 2, total_tokens: 3,
    cached_tokens: 0, cache_write_tokens: 0, reasoning_tokens: 0, cost_usd: 0.001, price_ref: null, tags: ['app:x'],
    user: null, metadata: {}, key_alias: null, key_hash: null, error: null, cache_write_1h_tokens: 0,
  };
}

function lines(ids: string[]): string {
  return ids.map((id) => JSON.stringify(record(id)) + '\n').join('');
}

let s3: S3Server | null = null;
let s3Prefixes = 0;
after(async () => {
  await s3?.close();
});

function innerStore(kind: 'local' | 's3', dir: string): ObjectStore {
  if (kind === 'local') return new LocalStore(join(dir, 'store'));
  return new S3Store(`s3://${s3!.bucket}/shipper-${++s3Prefixes}`, s3TestOptions(s3!.endpoint));
}

function setup(t: { after(fn: () => unknown): void }, options: Partial<ShipperOptions> = {}, kind: 'local' | 's3' = 'local') {
  const dir = mkdtempSync(join(tmpdir(), 'tagspend-ship-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const spool = join(dir, 'spool');
  mkdirSync(spool);
  const store = new FlakyStore(innerStore(kind, dir));
  t.after(() => store.close());
  const sleeps: number[] = [];
  const shipper = new Shipper({
    store,
    logger: silentLogger,
    shippedDir: null,
    backlogWarnBytes: 1 << 30,
    // Retries are paced by the policy, not by real time: record the delay, yield briefly.
    sleep: async (ms) => {
      sleeps.push(ms);
      await new Promise((r) => setTimeout(r, 2));
    },
    ...options,
  });
  t.after(() => shipper.stop());
  const writer = new SpendWriter({ spoolDir: spool, instance: 'test.a', maxBytes: 1 << 30, maxAgeMs: 3_600_000, logger: silentLogger });
  t.after(() => writer.close());
  writer.on('segment', shipper.enqueue);
  return { dir, spool, store, shipper, writer, sleeps };
}

function writeSegment(writer: SpendWriter, ids: string[]) {
  for (const id of ids) writer.write(record(id));
  return writer.rotate()!;
}

// The behaviours that depend on the store run against both implementations.
for (const kind of ['local', 's3'] as const) {
  describe(`on the ${kind} store`, () => {
    if (kind === 's3') {
      before(async () => {
        s3 = await startS3Server();
      });
    }

    test('closed segments are gzipped, uploaded under their dt/hour key, verified, and removed from the spool', async (t) => {
      const { spool, store, shipper, writer } = setup(t, {}, kind);
      const a = writeSegment(writer, ['r1', 'r2', 'r3']);
      const b = writeSegment(writer, ['r4', 'r5']);
      assert.equal(await shipper.drain(10_000), true);
      const stored = await readStoredSpend(store);
      assert.deepEqual(stored.keys, [segmentObjectKey(a), segmentObjectKey(b)]);
      assert.match(stored.keys[0]!, /^spend\/dt=\d{4}-\d{2}-\d{2}\/hour=\d{2}\/test\.a-\d{8}T\d{9}Z-000001\.ndjson\.gz$/);
      assert.deepEqual(stored.records.map((r) => r.request_id), ['r1', 'r2', 'r3', 'r4', 'r5']);
      assert.deepEqual(readdirSync(spool).filter((n) => n.includes('.ndjson')), []);
      assert.equal(shipper.shippedCount, 2);
    });

    test('keep_shipped moves the uploaded gzip into the shipped directory instead of deleting it', async (t) => {
      const dir = mkdtempSync(join(tmpdir(), 'tagspend-kept-'));
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      const { shipper, writer, spool } = setup(t, { shippedDir: join(dir, 'shipped') }, kind);
      const seg = writeSegment(writer, ['k1', 'k2']);
      assert.equal(await shipper.drain(10_000), true);
      const kept = join(dir, 'shipped', `${segmentBaseName(seg)}.ndjson.gz`);
      assert.equal(gunzipSync(readFileSync(kept)).toString(), lines(['k1', 'k2']));
      assert.deepEqual(readdirSync(spool).filter((n) => n.includes('.ndjson')), []);
    });

    test('on start every leftover ships: an active segment cut at its torn line, closed segments, a partial gzip beside its segment, a lone gzip', async (t) => {
      const { spool, store, shipper } = setup(t, {}, kind);
      const base = (seq: number) => segmentBaseName({ instance: 'old.b', startMs: Date.UTC(2026, 10, 27, 20, 0, seq), seq });
      writeFileSync(join(spool, `${base(1)}.ndjson.active`), lines(['a1', 'a2']) + '{"schema":1,"request_id":"torn');
      writeFileSync(join(spool, `${base(2)}.ndjson`), lines(['b1', 'b2']));
      // A crash during gzip leaves the first part of the gzip beside the segment.
      const full = gzipSync(lines(['b1', 'b2']));
      writeFileSync(join(spool, `${base(2)}.ndjson.gz`), full.subarray(0, Math.floor(full.length / 2)));
      writeFileSync(join(spool, `${base(3)}.ndjson.gz`), gzipSync(lines(['c1'])));
      writeFileSync(join(spool, `${base(4)}.ndjson.gz`), gzipSync(lines(['d1'])).subarray(0, 10));

      const { tornBytes } = recoverSpool(spool, silentLogger);
      assert.equal(tornBytes, '{"schema":1,"request_id":"torn'.length);
      assert.equal(shipper.enqueueSpool(spool), 4);
      assert.equal(await shipper.drain(10_000), true);

      const stored = await readStoredSpend(store);
      assert.deepEqual(stored.records.map((r) => r.request_id), ['a1', 'a2', 'b1', 'b2', 'c1']);
      assert.equal(stored.keys[0], `spend/dt=2026-11-27/hour=20/${base(1)}.ndjson.gz`);
      // The damaged lone gzip cannot be repaired: it is set aside, not shipped, not retried forever.
      assert.deepEqual(readdirSync(spool).filter((n) => n.includes('.ndjson')), [`${base(4)}.ndjson.gz.corrupt`]);
    });

    test('an upload whose stored size differs is not trusted: the local copy stays until a verified upload', async (t) => {
      const { store, shipper, writer } = setup(t, {}, kind);
      store.headSizeSkew = 2;
      const seg = writeSegment(writer, ['v1']);
      assert.equal(await shipper.drain(10_000), true);
      assert.equal(shipper.failureCount, 2);
      assert.deepEqual(store.putKeys, Array(3).fill(segmentObjectKey(seg)));
      assert.equal(existsSync(seg.path), false);
    });
  });
}

test('a failing store is retried with jittered, doubling, capped delays until it answers; nothing is dropped and order is kept', async (t) => {
  const metrics = new ProxyMetrics();
  const { store, shipper, writer, sleeps } = setup(t, { metrics, random: () => 0.999, backoff: { baseMs: 500, capMs: 4_000 } });
  store.failPuts = 6;
  const segs = [writeSegment(writer, ['f1']), writeSegment(writer, ['f2']), writeSegment(writer, ['f3'])];
  assert.equal(await shipper.drain(10_000), true);
  assert.deepEqual(sleeps, [499, 999, 1998, 3996, 3996, 3996]);
  assert.deepEqual(store.putKeys, segs.map((s) => segmentObjectKey(s)));
  assert.deepEqual((await readStoredSpend(store)).records.map((r) => r.request_id), ['f1', 'f2', 'f3']);
  assert.equal((await metrics.shipFailures.get()).values[0]!.value, 6);
  assert.equal((await metrics.segmentsShipped.get()).values[0]!.value, 3);
});

test('backoff delays stay under min(cap, base * 2^attempt) and use the whole range (full jitter)', () => {
  const policy = { baseMs: 500, capMs: 30_000 };
  assert.equal(backoffDelay(0, policy, () => 0), 0);
  assert.equal(backoffDelay(3, policy, () => 0.5), 2_000);
  assert.equal(backoffDelay(10, policy, () => 0.5), 15_000);
  assert.equal(backoffDelay(5_000, policy, () => 0.999_999), 29_999);
});

test('a backlog over backlog_warn_bytes fails readiness and logs one warning; shipping it clears both', async (t) => {
  const logged: { level: number; msg: string }[] = [];
  const logger = pino({ level: 'info' }, new Writable({
    write(chunk: Buffer, _enc, cb) {
      logged.push(JSON.parse(chunk.toString()));
      cb();
    },
  }));
  const metrics = new ProxyMetrics();
  const { store, shipper, writer } = setup(t, { metrics, logger, backlogWarnBytes: 600 });
  store.down = true;
  const segs = [writeSegment(writer, ['w1', 'w2']), writeSegment(writer, ['w3', 'w4']), writeSegment(writer, ['w5'])];
  const bytes = segs.reduce((n, s) => n + s.bytes, 0);
  assert.ok(bytes > 600);
  await waitFor(() => shipper.failureCount >= 3, 'a few failed attempts');
  assert.match(shipper.readinessProblems()[0] ?? '', /backlog of \d+ bytes in 3 segments is over backlog_warn_bytes \(600\)/);
  assert.equal((await metrics.spoolBacklogFiles.get()).values[0]!.value, 3);
  assert.equal((await metrics.spoolBacklogBytes.get()).values[0]!.value, bytes);
  assert.equal(logged.filter((l) => /passed backlog_warn_bytes/.test(l.msg)).length, 1);
  const failure = logged.find((l) => /upload failed/.test(l.msg)) as unknown as { level: number; code: string };
  assert.equal(failure.level, 40);
  assert.equal(failure.code, 'STORE_UNAVAILABLE');

  store.down = false;
  await waitFor(() => shipper.backlog().files === 0, 'the backlog to ship');
  assert.deepEqual(shipper.readinessProblems(), []);
  assert.equal((await metrics.spoolBacklogBytes.get()).values[0]!.value, 0);
  assert.equal((await metrics.spoolOldestAgeSeconds.get()).values[0]!.value, 0);
  assert.ok(logged.some((l) => /back under backlog_warn_bytes/.test(l.msg)));
});

test('drain gives up at its deadline and leaves what is unshipped in the spool for the next run', async (t) => {
  const { store, shipper, writer } = setup(t, { sleep: (ms, signal) => realSleep(Math.min(ms, 50), signal) });
  store.down = true;
  const seg = writeSegment(writer, ['d1']);
  const started = Date.now();
  assert.equal(await shipper.drain(300), false);
  assert.ok(Date.now() - started < 2_000);
  assert.equal(readFileSync(seg.path, 'utf8'), lines(['d1']));
  assert.equal(shipper.backlog().files, 1);
});
