import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/log.ts';
import { recoverSpool, SpendWriter, type ClosedSegment } from '../../src/spool/writer.ts';
import { parseSegmentName, segmentBaseName, segmentObjectKey } from '../../src/spool/segment.ts';
import type { SpendRecord } from '../../src/spend/record.ts';

function rec(i: number): SpendRecord {
  return { schema: 1, request_id: `id-${i}`, tags: ['app:x'], metadata: {} } as unknown as SpendRecord;
}

function withDir(fn: (dir: string) => void | Promise<void>) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tagspend-writer-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test('segment names round-trip and map to Hive-style object keys by start hour', () => {
  const id = { instance: 'web_1.a1b2c3', startMs: Date.UTC(2026, 10, 27, 20, 53, 1, 123), seq: 7 };
  const name = segmentBaseName(id);
  assert.equal(name, 'web_1.a1b2c3-20261127T205301123Z-000007');
  assert.deepEqual(parseSegmentName(`${name}.ndjson.active`), id);
  assert.equal(segmentObjectKey(id), 'spend/dt=2026-11-27/hour=20/web_1.a1b2c3-20261127T205301123Z-000007.ndjson.gz');
  assert.equal(parseSegmentName('random.txt'), null);
});

test('writer appends one line per record and closes a segment when it reaches the size limit', withDir((dir) => {
  const closed: ClosedSegment[] = [];
  const w = new SpendWriter({ spoolDir: dir, instance: 'i1', maxBytes: 200, maxAgeMs: 3_600_000, logger: silentLogger });
  w.on('segment', (s) => closed.push(s));
  for (let i = 0; i < 10; i++) w.write(rec(i));
  w.close();
  assert.ok(closed.length >= 3, `several segments (${closed.length})`);
  const ids = closed.flatMap((s) => readFileSync(s.path, 'utf8').trim().split('\n').map((l) => JSON.parse(l).request_id));
  assert.deepEqual(ids, Array.from({ length: 10 }, (_, i) => `id-${i}`));
  assert.deepEqual(closed.map((s) => s.seq), closed.map((_, i) => i + 1));
  assert.equal(closed.reduce((n, s) => n + s.records, 0), 10);
  assert.equal(readdirSync(dir).filter((n) => n.endsWith('.active')).length, 0);
}));

test('a size rotation inside a write hands over a complete segment and syncs it off the event loop, leaking no descriptor', withDir(async (dir) => {
  // Descriptors this process holds on files in the spool directory.
  const spoolFds = () =>
    readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir);
      } catch {
        return false; // closed while listing
      }
    }).length;
  const closed: ClosedSegment[] = [];
  const w = new SpendWriter({ spoolDir: dir, instance: 'i1', maxBytes: 500, maxAgeMs: 3_600_000, logger: silentLogger });
  w.on('segment', (s) => closed.push(s));
  for (let i = 0; i < 200; i++) w.write(rec(i));
  assert.ok(closed.length >= 20, `several rotations (${closed.length})`);
  assert.ok(w.pendingSyncs > 0, 'the fsyncs are still running when the writes return');
  // Complete as soon as it is handed over: the shipper reads it through the page cache.
  for (const s of closed) assert.equal(readFileSync(s.path, 'utf8').split('\n').filter(Boolean).length, s.records);
  const deadline = Date.now() + 10_000;
  while (w.pendingSyncs > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.equal(w.pendingSyncs, 0);
  w.close();
  while (spoolFds() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.equal(spoolFds(), 0, 'every segment descriptor is closed');
  const ids = closed.flatMap((s) => readFileSync(s.path, 'utf8').trim().split('\n').map((l) => JSON.parse(l).request_id));
  assert.deepEqual(ids, Array.from({ length: 200 }, (_, i) => `id-${i}`));
}));

test('writer closes a segment by age with an injected clock and creates no empty segments', withDir((dir) => {
  let now = 1_000_000;
  const closed: ClosedSegment[] = [];
  const w = new SpendWriter({ spoolDir: dir, instance: 'i1', maxBytes: 1 << 30, maxAgeMs: 60_000, clock: () => now, logger: silentLogger });
  w.on('segment', (s) => closed.push(s));
  w.write(rec(1));
  now += 59_999;
  w.rotateIfDue();
  assert.equal(closed.length, 0);
  now += 1;
  w.rotateIfDue();
  assert.equal(closed.length, 1);
  now += 120_000;
  w.rotateIfDue();
  assert.equal(closed.length, 1, 'an idle writer has nothing to close');
  w.close();
  assert.deepEqual(readdirSync(dir).filter((n) => n.includes('ndjson')).length, 1);
}));

test('recovery closes a leftover active segment and cuts its torn last line', withDir((dir) => {
  const w = new SpendWriter({ spoolDir: dir, instance: 'old', maxBytes: 1 << 30, maxAgeMs: 3_600_000, logger: silentLogger });
  w.write(rec(1));
  w.write(rec(2));
  const active = readdirSync(dir).find((n) => n.endsWith('.ndjson.active'))!;
  // Simulate a crash in the middle of a write: a partial line, no newline.
  appendFileSync(join(dir, active), '{"schema":1,"request_id":"id-3","ta');
  writeFileSync(join(dir, 'old-20260101T000000000Z-000009.ndjson.active'), '');
  const { recovered, tornBytes } = recoverSpool(dir, silentLogger);
  assert.equal(recovered.length, 1);
  assert.equal(tornBytes, '{"schema":1,"request_id":"id-3","ta'.length);
  const lines = readFileSync(recovered[0]!.path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).request_id);
  assert.deepEqual(lines, ['id-1', 'id-2']);
  assert.deepEqual(readdirSync(dir).filter((n) => n.includes('ndjson')).sort(), [active.replace('.active', '')]);
}));
