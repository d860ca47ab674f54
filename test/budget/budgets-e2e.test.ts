// Tag budgets end to end: the real openai client through two proxies that share an S3 store
// (s3rver), the mock upstream, a DuckDB file for the jobs, and a local webhook receiver.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { APIError } from 'openai';
import { runJob } from '../../jobs/run/runner.ts';
import { jobSettings } from '../../jobs/run/settings.ts';
import { BLOCKLIST_KEY, parseBlockList, type BlockList } from '../../src/budget/blocklist.ts';
import { loadConfig } from '../../src/config/load.ts';
import { silentLogger } from '../../src/log.ts';
import { startMockUpstream } from '../../src/mock/upstream.ts';
import { S3Store } from '../../src/store/s3.ts';
import { startTestProxy, waitFor, type TestProxy } from '../helpers/proxy.ts';
import { s3TestOptions, startS3Server, type S3Server } from '../helpers/s3server.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

const MASTER = 'sk-master-0123456789';
const BASE = Date.parse('2026-11-20T12:00:00Z');
const started = Date.now();
let offsetMs = 0;
/** The injected clock: mid-day in a fixed day, moved forward by the rollover test. */
const clock = () => BASE + (Date.now() - started) + offsetMs;

let s3: S3Server;
let mock: Awaited<ReturnType<typeof startMockUpstream>>;
let hook: WebhookReceiver;
let a: TestProxy;
let b: TestProxy;
let store: S3Store;
let jobsDir: string;
let unit = 0; // cost of one request, measured

function proxyConfig() {
  return {
    master_key: MASTER,
    timezone: 'UTC',
    budgets: { poll_interval_seconds: 0.2 },
    store: { url: `s3://${s3.bucket}/budgets`, s3: { endpoint: s3.endpoint, region: 'us-east-1', force_path_style: true, checksums: 'when_required' } },
    spend_log: { segment_max_age_seconds: 3600 },
  };
}

function client(tp: TestProxy) {
  // maxRetries 2: the proxy's x-should-retry: false must stop the SDK from retrying a 429.
  return new OpenAI({ apiKey: MASTER, baseURL: `${tp.url}/v1`, maxRetries: 2 });
}

function chat(tp: TestProxy, tags: string | null) {
  return client(tp).chat.completions.create(
    { model: 'mock/gpt-4o-mini', messages: [{ role: 'user', content: 'How much is left in my budget?' }], max_tokens: 20 },
    { headers: tags === null ? {} : { 'x-litellm-tags': tags } },
  );
}

async function status(tp: TestProxy, tags: string): Promise<number> {
  const res = await fetch(`${tp.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json', 'x-litellm-tags': tags },
    body: JSON.stringify({ model: 'mock/gpt-4o-mini', messages: [{ role: 'user', content: 'How much is left in my budget?' }], max_tokens: 20 }),
  });
  await res.text();
  return res.status;
}

async function admin(tp: TestProxy, path: string, body?: unknown) {
  const res = await fetch(`${tp.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as any };
}

async function reconcile() {
  const resolved = loadConfig({
    env: {},
    overrides: { data_dir: jobsDir, timezone: 'UTC', alerts: { webhook_url: hook.url }, jobs: { threads: 2 } },
  });
  const summary = await runJob({ job: 'reconcile', trigger: 'cli', full: true }, { settings: jobSettings(resolved), store, log: silentLogger, now: () => new Date(clock()) });
  assert.equal(summary.status, 'success', summary.error ?? '');
  return summary;
}

async function storedList(): Promise<BlockList> {
  const got = await store.get(BLOCKLIST_KEY);
  assert.ok(got && 'body' in got);
  return parseBlockList(got.body.toString('utf8'));
}

before(async () => {
  [s3, mock, hook] = await Promise.all([startS3Server(), startMockUpstream(), startWebhookReceiver()]);
  store = new S3Store(`s3://${s3.bucket}/budgets`, s3TestOptions(s3.endpoint));
  jobsDir = await mkdtemp(join(tmpdir(), 'tagspend-budget-jobs-'));
  a = await startTestProxy({ upstreamUrl: mock.url, config: proxyConfig(), proxyOptions: { clock } });
  b = await startTestProxy({ upstreamUrl: mock.url, config: proxyConfig(), proxyOptions: { clock } });
});

after(async () => {
  await a?.close();
  await b?.close();
  await store?.close();
  await Promise.all([s3?.close(), mock?.close(), hook?.close()]);
  if (jobsDir) await rm(jobsDir, { recursive: true, force: true });
});

describe('tag budgets end to end', () => {
  test('the proxy blocks app:x from its own spend before any job run: 429, message, Retry-After, one blocked record', async () => {
    const probe = await chat(a, 'probe:cost').withResponse();
    unit = Number(probe.response.headers.get('x-tagspend-cost-usd'));
    assert.ok(unit > 0, 'requests are priced');
    const made = await admin(a, '/tag/new', { name: 'app:x', max_budget: unit * 2.5, budget_duration: '1d' });
    assert.equal(made.status, 200);

    for (let i = 0; i < 3; i++) await chat(a, 'app:x,env:test');
    const upstreamBefore = mock.requests;
    const err = await chat(a, 'app:x,env:test').then(
      () => assert.fail('the 4th request should be blocked'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof APIError);
    assert.equal(err.status, 429);
    assert.match(err.message, /Budget has been exceeded! Tag=app:x Current cost: [\d.e-]+, Max budget: [\d.e-]+/);
    assert.equal((err.error as any)?.type, 'budget_exceeded');
    const retryAfter = Number(err.headers?.get('retry-after'));
    // Window 1d: resets at the next UTC midnight, ~12 h after the injected noon.
    assert.ok(retryAfter > 11 * 3600 && retryAfter <= 12 * 3600, `retry-after ${retryAfter}`);
    assert.equal(err.headers?.get('x-should-retry'), 'false');
    assert.equal(mock.requests, upstreamBefore, 'a blocked request never reaches the provider');

    const blocked = a.records().filter((r) => r.outcome === 'blocked');
    assert.equal(blocked.length, 1, 'the SDK did not retry: exactly one blocked record');
    assert.equal(blocked[0]!.status, 429);
    assert.deepEqual(blocked[0]!.tags, ['app:x', 'env:test']);
    assert.equal(blocked[0]!.cost_usd, 0);

    const info = await admin(a, '/tag/info?names=app:x');
    assert.equal(info.json[0].blocked, true);
    assert.equal(info.json[0].reconciled_spend, 0);
    assert.ok(Math.abs(info.json[0].unreconciled_spend - unit * 3) < 1e-6);
    assert.equal(info.json[0].budget_reset_at, '2026-11-21T00:00:00.000Z');
  });

  test('untagged and other-tag requests still pass', async () => {
    assert.ok((await chat(a, null)).id);
    assert.ok((await chat(a, 'app:other')).id);
    assert.equal(await status(a, 'env:test'), 200);
  });

  test('reconcile writes a block-list that says the same, and alerts arrive once per threshold', async () => {
    assert.equal(await status(b, 'app:x'), 200, 'b has not seen any spend yet');
    // The spool is removed once shipped: sum what the proxies logged first.
    const shipped = [...a.records(), ...b.records()].filter((r) => r.tags.includes('app:x')).reduce((s, r) => s + (r.cost_usd ?? 0), 0);
    a.proxy.writer.rotate();
    b.proxy.writer.rotate();
    assert.ok(await a.proxy.shipper!.drain(10_000));
    assert.ok(await b.proxy.shipper!.drain(10_000));
    await reconcile();
    const list = await storedList();
    const entry = list.tags['app:x']!;
    assert.ok(Math.abs(entry.spend - shipped) < 1e-9, `${entry.spend} vs ${shipped}`);
    assert.equal(entry.blocked, true);
    assert.equal(entry.window_start, '2026-11-20T00:00:00.000Z');
    assert.ok(list.watermark !== null && Date.parse(list.watermark) >= BASE);
    assert.ok(list.seen_tags.includes('app:other'));

    await reconcile();
    const xs = hook.received.filter((h) => h.tag === 'app:x').map((h) => h.threshold);
    assert.deepEqual(xs, [0.5, 0.8, 1]);
  });

  test('a second proxy sharing the store blocks after its next poll', async () => {
    await waitFor(async () => (await status(b, 'app:x')) === 429, 'proxy b to block app:x');
    assert.equal(await status(b, 'app:other'), 200);
  });

  test('a corrupt block-list in the store keeps the last good one, in memory and on disk', async () => {
    // Settle first: a timer poll may still be bringing in the last reconcile's list.
    await b.proxy.budgets!.pollNow();
    await b.proxy.budgets!.pollNow();
    const held = b.proxy.budgets!.blockList.current!;
    await store.put(BLOCKLIST_KEY, '{"schema":1,"generated_at":');
    await b.proxy.budgets!.pollNow();
    assert.equal(b.proxy.budgets!.blockList.current!.generated_at, held.generated_at);
    const onDisk = parseBlockList(await readFile(join(b.dataDir, 'blocklist.json'), 'utf8'));
    assert.equal(onDisk.generated_at, held.generated_at);
    assert.equal(await status(b, 'app:x'), 429);
    await store.put(BLOCKLIST_KEY, JSON.stringify(held)); // put the good one back
  });

  test('/tag/update raising the budget lifts the block here at once and on the other proxy within a poll', async () => {
    const up = await admin(a, '/tag/update', { name: 'app:x', max_budget: unit * 100 });
    assert.equal(up.status, 200);
    assert.equal(up.json.blocked, false);
    assert.equal(await status(a, 'app:x'), 200);
    await waitFor(async () => (await status(b, 'app:x')) === 200, 'proxy b to unblock app:x');
  });

  test('a window rollover (injected clock) lifts the block on its own', async () => {
    await admin(a, '/tag/update', { name: 'app:x', max_budget: unit * 2.5 });
    await waitFor(async () => (await status(b, 'app:x')) === 429, 'proxy b to block app:x again');
    assert.equal(await status(a, 'app:x'), 429);
    offsetMs = Date.parse('2026-11-21T00:00:01Z') - BASE;
    assert.equal(await status(a, 'app:x'), 200);
    assert.equal(await status(b, 'app:x'), 200);
    const info = await admin(a, '/tag/info?names=app:x');
    assert.equal(info.json[0].window_start, '2026-11-21T00:00:00.000Z');
    assert.equal(info.json[0].blocked, false);
  });
});
