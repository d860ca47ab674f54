// Fault tests for the road from proxy to S3: the proxy runs as the operator runs it (a child
// process started by bin/tagspend.js), under sustained traffic, against a real S3-compatible
// server. Each test ends by reading every object back and comparing request ids with the
// requests the client got an answer for: all there, none twice.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMockUpstream, type MockUpstream } from '../../src/mock/upstream.ts';
import { S3Store } from '../../src/store/s3.ts';
import { faultTestEnv, spawnCliProxy, type CliProxy } from '../helpers/cli-proxy.ts';
import { startFaultyHttp } from '../helpers/faulty-http.ts';
import { waitFor } from '../helpers/proxy.ts';
import { s3TestOptions, startS3Server, type S3Server } from '../helpers/s3server.ts';
import { duplicates, readStoredSpend } from '../helpers/store-records.ts';
import { startTraffic, type Traffic } from '../helpers/traffic.ts';

let s3: S3Server;
let mock: MockUpstream;
const cleanups: (() => unknown)[] = [];

before(async () => {
  [s3, mock] = await Promise.all([startS3Server(), startMockUpstream()]);
});

after(async () => {
  for (const fn of cleanups.reverse()) await fn();
  await Promise.all([mock?.close(), s3?.close()]);
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tagspend-fault-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function storeAt(prefix: string): S3Store {
  const store = new S3Store(`s3://${s3.bucket}/${prefix}`, s3TestOptions(s3.endpoint));
  cleanups.push(() => store.close());
  return store;
}

async function start(dataDir: string, prefix: string, s3Endpoint = s3.endpoint): Promise<CliProxy> {
  const p = await spawnCliProxy({ dataDir, env: faultTestEnv({ s3Endpoint, bucket: s3.bucket, prefix, upstreamUrl: mock.url }) });
  cleanups.push(() => {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  });
  return p;
}

async function stopGracefully(p: CliProxy): Promise<void> {
  p.child.kill('SIGTERM');
  const { code, signal } = await p.exited;
  assert.deepEqual({ code, signal }, { code: 0, signal: null }, `the proxy exits 0 after SIGTERM; its log: ${p.stderr()}`);
}

async function objectCount(store: S3Store): Promise<number> {
  let n = 0;
  for await (const _ of store.list('spend/')) n += 1;
  return n;
}

async function metric(p: CliProxy, name: string): Promise<number> {
  const text = await (await fetch(`${p.url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

/** Traffic until `n` more answers arrive. */
async function answersMore(traffic: Traffic, n: number, what: string): Promise<void> {
  const target = traffic.answered.length + n;
  await waitFor(() => traffic.answered.length >= target, `${n} more answers ${what}`, 20_000);
}

function unshippedFiles(dataDir: string): string[] {
  return readdirSync(join(dataDir, 'spool')).filter((n) => n.includes('.ndjson'));
}

/** Every answered request is stored exactly once; `extraAllowed` unanswered ones may be stored too. */
async function assertStoreHolds(store: S3Store, answered: readonly string[], extraAllowed = 0): Promise<void> {
  const { records, keys } = await readStoredSpend(store);
  const ids = records.map((r) => r.request_id);
  assert.deepEqual(duplicates(ids), [], 'no request id is stored twice');
  assert.equal(new Set(keys).size, keys.length);
  const stored = new Set(ids);
  const missing = answered.filter((id) => !stored.has(id));
  assert.deepEqual(missing, [], `every answered request is in the store (${answered.length} answered, ${stored.size} stored)`);
  assert.ok(stored.size - new Set(answered).size <= extraAllowed, `at most ${extraAllowed} records of unanswered requests`);
}

describe('spend segments reach S3 through faults', { timeout: 120_000 }, () => {
  test('kill -9 under traffic, restart on the same data dir: every answered request is shipped once', async () => {
    const dataDir = tempDir();
    const store = storeAt('kill9');
    const first = await start(dataDir, 'kill9');
    let url = first.url;
    const traffic = startTraffic(() => url);
    try {
      await answersMore(traffic, 200, 'before the crash');
      await waitFor(() => objectCount(store), 'a first segment in S3', 20_000);
      first.child.kill('SIGKILL');
      await first.exited;
      const second = await start(dataDir, 'kill9');
      url = second.url;
      await answersMore(traffic, 100, 'after the restart');
      await traffic.stop();
      await stopGracefully(second);
    } finally {
      await traffic.stop();
    }
    assert.deepEqual(unshippedFiles(dataDir), []);
    const { keys } = await readStoredSpend(store);
    const instances = new Set(keys.map((k) => k.split('/').pop()!.split('-')[0]));
    assert.equal(instances.size, 2, 'each process writes under its own instance id');
    // Requests cut off by the kill may have been logged before the answer was lost.
    await assertStoreHolds(store, traffic.answered, traffic.failed);
  });

  test('S3 stopped under traffic: the proxy keeps serving, shows the backlog, and ships it all once S3 is back', async () => {
    const dataDir = tempDir();
    const store = storeAt('outage');
    const p = await start(dataDir, 'outage');
    const traffic = startTraffic(() => p.url);
    try {
      await answersMore(traffic, 100, 'before the outage');
      await waitFor(() => objectCount(store), 'a first segment in S3', 20_000);
      await s3.stop();
      try {
        await answersMore(traffic, 150, 'while S3 is down');
        await waitFor(async () => (await metric(p, 'tagspend_spool_backlog_files')) >= 2, 'a backlog in /metrics', 20_000);
        assert.ok((await metric(p, 'tagspend_ship_failures_total')) >= 1);
        assert.ok((await metric(p, 'tagspend_spool_backlog_bytes')) > 0);
        assert.equal((await fetch(`${p.url}/health/readiness`)).status, 200, 'a backlog under backlog_warn_bytes keeps the proxy ready');
      } finally {
        await s3.start();
      }
      await answersMore(traffic, 100, 'after S3 is back');
      await traffic.stop();
      // Shipped by the running proxy on its own, not by the shutdown.
      await waitFor(async () => unshippedFiles(dataDir).length === 0 && (await metric(p, 'tagspend_spool_backlog_files')) === 0, 'the backlog to drain', 20_000);
      await stopGracefully(p);
    } finally {
      await traffic.stop();
    }
    assert.equal(traffic.failed, 0);
    await assertStoreHolds(store, traffic.answered);
  });

  test('S3 answering 500 for a while: uploads are retried until they succeed, nothing lost or doubled', async () => {
    const dataDir = tempDir();
    const store = storeAt('errors');
    const faulty = await startFaultyHttp(() => ({ host: '127.0.0.1', port: s3.port }));
    cleanups.push(() => faulty.close());
    const p = await start(dataDir, 'errors', faulty.url);
    const traffic = startTraffic(() => p.url);
    try {
      await answersMore(traffic, 100, 'before the errors');
      await waitFor(() => objectCount(store), 'a first segment in S3', 20_000);
      faulty.failing = true;
      await answersMore(traffic, 150, 'while S3 fails');
      await waitFor(async () => (await metric(p, 'tagspend_ship_failures_total')) >= 2, 'failed uploads', 20_000);
      faulty.failing = false;
      await answersMore(traffic, 100, 'after S3 recovers');
      await traffic.stop();
      await waitFor(async () => unshippedFiles(dataDir).length === 0 && (await metric(p, 'tagspend_spool_backlog_files')) === 0, 'the backlog to drain', 20_000);
      await stopGracefully(p);
    } finally {
      faulty.failing = false;
      await traffic.stop();
    }
    assert.ok(faulty.failures > 0, 'the fault was injected');
    assert.equal(traffic.failed, 0);
    await assertStoreHolds(store, traffic.answered);
  });

  test('SIGTERM under traffic: in-flight requests finish, the last segment ships, exit code 0', async () => {
    const dataDir = tempDir();
    const store = storeAt('sigterm');
    const p = await start(dataDir, 'sigterm');
    const traffic = startTraffic(() => p.url);
    try {
      await answersMore(traffic, 200, 'before SIGTERM');
      await waitFor(() => objectCount(store), 'a first segment in S3', 20_000);
      await stopGracefully(p);
    } finally {
      await traffic.stop();
    }
    assert.deepEqual(unshippedFiles(dataDir), []);
    await assertStoreHolds(store, traffic.answered);
  });
});
