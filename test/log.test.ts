// Operational logs: a store object's name is logged as `object_key` (readable), while fields
// that name credentials (`key`, `api_key`, `authorization`, ...) stay redacted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { runBudgets } from '../jobs/steps/budgets.ts';
import { runIngest } from '../jobs/steps/ingest.ts';
import { DefinitionSource } from '../src/budget/definition-source.ts';
import { TAG_FOLDER } from '../src/budget/tags.ts';
import { createLogger, type Logger } from '../src/log.ts';
import { segmentObjectKey } from '../src/spool/segment.ts';
import { Shipper } from '../src/spool/shipper.ts';
import { SpendWriter } from '../src/spool/writer.ts';
import { LocalStore } from '../src/store/local.ts';
import { FlakyStore } from './helpers/flaky-store.ts';
import { waitFor } from './helpers/proxy.ts';
import { makeRecords, objectKey, putNdjsonObject, toNdjson } from './helpers/spend-fixtures.ts';
import { createHarness } from './jobs/harness.ts';

type Line = Record<string, unknown> & { msg: string; level: number };

/** The production logger (same redaction) writing into an array. */
function capture(): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const logger = createLogger(
    'debug',
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as Line);
        cb();
      },
    }),
  );
  return { logger, lines };
}

function lineWith(lines: Line[], msg: string): Line {
  const found = lines.find((l) => l.msg.startsWith(msg));
  assert.ok(found, `a log line "${msg}" in ${JSON.stringify(lines.map((l) => l.msg))}`);
  return found!;
}

test('credential fields stay redacted at the top and one level down; object_key is not', () => {
  const { logger, lines } = capture();
  logger.warn(
    { key: 'sk-live-1', api_key: 'sk-2', apiKey: 'sk-3', master_key: 'sk-4', authorization: 'Bearer x', provider: { key: 'sk-5', api_key: 'sk-6' }, headers: { authorization: 'Bearer y', 'x-api-key': 'sk-7' }, object_key: 'spend/dt=2026-11-20/hour=10/a-1.ndjson.gz' },
    'probe',
  );
  const l = lineWith(lines, 'probe');
  for (const v of [l.key, l.api_key, l.apiKey, l.master_key, l.authorization, (l.provider as Line).key, (l.provider as Line).api_key, (l.headers as Line).authorization, (l.headers as Line)['x-api-key']]) {
    assert.equal(v, '[REDACTED]');
  }
  assert.equal(l.object_key, 'spend/dt=2026-11-20/hour=10/a-1.ndjson.gz');
  assert.ok(!JSON.stringify(lines).includes('sk-'), 'no credential in the output');
});

test('"object has rejected lines" names the object', async () => {
  const h = await createHarness();
  const { logger, lines } = capture();
  try {
    const key = objectKey('logs1', Date.parse('2026-11-10T10:00:00Z'), 1);
    await putNdjsonObject(h.store, key, toNdjson([...makeRecords(3, 1, Date.parse('2026-11-10T10:00:00Z'), 1000), 'not json at all']));
    const ctx = { ...(await h.context()), log: logger };
    try {
      await runIngest(ctx, { full: true });
    } finally {
      ctx.db.close();
    }
    const l = lineWith(lines, 'object has rejected lines');
    assert.equal(l.object_key, key);
    assert.equal(l.key, undefined);
  } finally {
    await h.cleanup();
  }
});

test('"tag definition is unreadable" names the object, in the budgets job and in the proxy', async () => {
  const h = await createHarness();
  const { logger, lines } = capture();
  try {
    await h.store.put('control/tags/broken.json', '{not json');
    const ctx = { ...(await h.context()), log: logger };
    try {
      await runBudgets(ctx, h.settings.alerts);
    } finally {
      ctx.db.close();
    }
    const job = lineWith(lines, 'tag budget definition cannot be evaluated');
    assert.equal(job.object_key, 'control/tags/broken.json');
    assert.match(String(job.reason), /^unreadable/);
    lines.length = 0;
    await new DefinitionSource(h.store, TAG_FOLDER, logger).poll();
    assert.equal(lineWith(lines, 'tag definition is unreadable').object_key, 'control/tags/broken.json');
  } finally {
    await h.cleanup();
  }
});

test('"segment upload failed" names the object it tried to write', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tagspend-logs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const spool = join(dir, 'spool');
  mkdirSync(spool);
  const { logger, lines } = capture();
  const store = new FlakyStore(new LocalStore(join(dir, 'store')));
  store.failPuts = 1;
  const shipper = new Shipper({ store, logger, shippedDir: null, backlogWarnBytes: 1 << 30, sleep: async () => {} });
  t.after(() => shipper.stop());
  const writer = new SpendWriter({ spoolDir: spool, instance: 'logs.a', maxBytes: 1 << 30, maxAgeMs: 3_600_000, logger });
  t.after(() => writer.close());
  writer.on('segment', shipper.enqueue);
  for (const r of makeRecords(2, 1, Date.parse('2026-11-10T10:00:00Z'), 1000)) writer.write(r);
  const seg = writer.rotate()!;
  await waitFor(() => lines.some((l) => l.msg.startsWith('segment upload failed')), 'the failure line');
  assert.equal(lineWith(lines, 'segment upload failed').object_key, segmentObjectKey(seg));
  assert.equal(await shipper.drain(10_000), true);
  assert.equal(lineWith(lines, 'segment shipped').object_key, segmentObjectKey(seg));
});
