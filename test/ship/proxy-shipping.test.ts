// The shipper inside a running proxy (in this process, local-directory store), and `tagspend ship`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { startMockUpstream, type MockUpstream } from '../../src/mock/upstream.ts';
import { LocalStore } from '../../src/store/local.ts';
import { FlakyStore } from '../helpers/flaky-store.ts';
import { startTestProxy, waitFor, type TestProxy } from '../helpers/proxy.ts';
import { duplicates, readStoredSpend } from '../helpers/store-records.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let mock: MockUpstream;
const cleanups: (() => unknown)[] = [];

before(async () => {
  mock = await startMockUpstream();
});
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
  await mock?.close();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tagspend-pship-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function proxy(dataDir: string, storeDir: string, spend: Record<string, unknown>, extra: Partial<Parameters<typeof startTestProxy>[0]> = {}): Promise<TestProxy> {
  const tp = await startTestProxy({
    upstreamUrl: mock.url,
    dataDir,
    config: { store: { url: pathToFileURL(storeDir).href }, spend_log: { segment_max_age_seconds: 3600, ...spend } },
    ...extra,
  });
  cleanups.push(() => tp.close());
  return tp;
}

async function chat(url: string): Promise<string> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
  });
  await res.arrayBuffer();
  assert.equal(res.status, 200);
  return res.headers.get('x-tagspend-request-id')!;
}

async function chats(url: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(await chat(url));
  return ids;
}

function spoolFiles(dataDir: string): string[] {
  return readdirSync(join(dataDir, 'spool')).filter((n) => n.includes('.ndjson'));
}

test('a running proxy ships each segment it rotates, and the last one when it closes', async () => {
  const dataDir = tempDir();
  const storeDir = tempDir();
  const store = new LocalStore(storeDir);
  const tp = await proxy(dataDir, storeDir, { segment_max_age_seconds: 0.2 });
  const first = await chats(tp.url, 5);
  await waitFor(async () => (await readStoredSpend(store)).records.length === 5, 'the first segment in the store');
  // The object is in the store a moment before the shipper has verified it and counted it.
  let metrics = '';
  await waitFor(async () => {
    metrics = await (await fetch(`${tp.url}/metrics`)).text();
    return /^tagspend_segments_shipped_total [1-9]/m.test(metrics) && /^tagspend_spool_backlog_files 0$/m.test(metrics);
  }, 'the shipped segment counted');
  assert.match(metrics, /^tagspend_segments_shipped_total [1-9]/m);
  assert.match(metrics, /^tagspend_spool_backlog_files 0$/m);
  const second = await chats(tp.url, 3);
  await tp.close();
  const { records } = await readStoredSpend(store);
  assert.deepEqual(records.map((r) => r.request_id).sort(), [...first, ...second].sort());
  assert.deepEqual(spoolFiles(dataDir), []);
});

test('segments an earlier process left unshipped are shipped when the proxy starts on the same data dir', async () => {
  const dataDir = tempDir();
  const storeDir = tempDir();
  const logging = await proxy(dataDir, storeDir, {}, { proxyOptions: { ship: false } });
  const ids = await chats(logging.url, 4);
  await logging.close();
  assert.equal(spoolFiles(dataDir).length, 1, 'logging only: the closed segment waits in the spool');
  const shipping = await proxy(dataDir, storeDir, {});
  await waitFor(() => spoolFiles(dataDir).length === 0, 'the leftover to ship');
  const { records } = await readStoredSpend(new LocalStore(storeDir));
  assert.deepEqual(records.map((r) => r.request_id), ids);
  await shipping.close();
});

test('a store outage with a backlog past backlog_warn_bytes makes readiness fail while requests are still served', async () => {
  const dataDir = tempDir();
  const storeDir = tempDir();
  const local = new LocalStore(storeDir);
  const store = new FlakyStore(local);
  store.down = true;
  const tp = await proxy(dataDir, storeDir, { segment_max_age_seconds: 0.1, backlog_warn_bytes: 1, ship_retry_max_seconds: 0.2 }, { proxyOptions: { store } });
  const ids = await chats(tp.url, 3);
  const readiness = await waitFor(async () => {
    const res = await fetch(`${tp.url}/health/readiness`);
    return res.status === 503 ? ((await res.json()) as { problems: string[] }) : null;
  }, 'readiness to report the backlog');
  assert.match(readiness.problems.join(), /spool backlog of \d+ bytes in 1 segments is over backlog_warn_bytes \(1\)/);
  ids.push(await chat(tp.url));
  store.down = false;
  await waitFor(async () => (await fetch(`${tp.url}/health/readiness`)).status === 200, 'readiness once the backlog shipped');
  await tp.close();
  const stored = (await readStoredSpend(local)).records.map((r) => r.request_id);
  assert.deepEqual(duplicates(stored), []);
  assert.deepEqual(stored.sort(), ids.sort());
});

test('tagspend ship ships what a stopped proxy left in the spool, and refuses while a proxy holds it', async () => {
  const dataDir = tempDir();
  const storeDir = tempDir();
  const logging = await proxy(dataDir, storeDir, {}, { proxyOptions: { ship: false } });
  const ids = await chats(logging.url, 3);
  const run = () =>
    promisify(execFile)(process.execPath, [join(ROOT, 'bin/tagspend.js'), 'ship', '--data-dir', dataDir, '--store', pathToFileURL(storeDir).href], { cwd: ROOT })
      .then((r) => ({ code: 0, ...r }), (e: { code: number; stdout: string; stderr: string }) => e);

  const refused = await run();
  assert.equal(refused.code, 3);
  assert.match(refused.stderr, /in use by process \d+/);
  assert.deepEqual((await readStoredSpend(new LocalStore(storeDir))).records, []);

  await logging.close();
  const shipped = await run();
  assert.equal(shipped.code, 0, shipped.stderr);
  assert.match(shipped.stdout, /^shipped 1 of 1 segments \(\d+ bytes, \d+ gzipped\) to file:\/\//);
  assert.deepEqual((await readStoredSpend(new LocalStore(storeDir))).records.map((r) => r.request_id), ids);
  assert.deepEqual(spoolFiles(dataDir), []);
});
