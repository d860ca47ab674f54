// A fleet of proxies on one store: each publishes its spend and reservations to
// control/usage/<instance>.json and adds the others' figures to its own, so together they
// overshoot a budget by at most what they admit within one share interval. A killed proxy's
// reservations expire; a store outage falls back to local knowledge (or 503 with fail_closed).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Fleet, MAX_PUBLISHED_CUSTOMERS, parseUsageFile, USAGE_PREFIX, USAGE_SCHEMA, usageKey } from '../../src/budget/fleet.ts';
import type { SharedFigure } from '../../src/budget/gate.ts';
import { silentLogger } from '../../src/log.ts';
import { StoreUnavailableError } from '../../src/errors.ts';
import { startMockUpstream } from '../../src/mock/upstream.ts';
import { LocalStore } from '../../src/store/local.ts';
import { S3Store } from '../../src/store/s3.ts';
import type { ObjectStore } from '../../src/store/types.ts';
import { hangingStore } from '../helpers/flaky-store.ts';
import { faultTestEnv, spawnCliProxy } from '../helpers/cli-proxy.ts';
import { startTestProxy, waitFor, type TestProxy } from '../helpers/proxy.ts';
import { s3TestOptions, startS3Server, type S3Server } from '../helpers/s3server.ts';

const MASTER = 'sk-master-0123456789';
const SHARE_S = 0.2;
const STALE_S = 1;
const LATENCY_MS = 50;
let s3: S3Server;
let mock: Awaited<ReturnType<typeof startMockUpstream>>;
let store: S3Store;
const proxies: TestProxy[] = [];

function s3Config(prefix: string) {
  return {
    master_key: MASTER,
    store: { url: `s3://${s3.bucket}/${prefix}`, s3: { endpoint: s3.endpoint, region: 'us-east-1', force_path_style: true, checksums: 'when_required' } },
    budgets: { poll_interval_seconds: 0.5, share_interval_seconds: SHARE_S, share_stale_seconds: STALE_S },
  };
}

before(async () => {
  [s3, mock] = await Promise.all([startS3Server(), startMockUpstream()]);
  store = new S3Store(`s3://${s3.bucket}/fleet`, s3TestOptions(s3.endpoint));
});

after(async () => {
  for (const p of proxies) await p.close();
  await store?.close();
  await Promise.all([s3?.close(), mock?.close()]);
});

async function admin(p: { url: string }, path: string, body?: unknown) {
  const res = await fetch(`${p.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as any };
}

async function chat(p: { url: string }, tags: string, extra: Record<string, unknown> = {}, signal?: AbortSignal) {
  const res = await fetch(`${p.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json', 'x-litellm-tags': tags },
    body: JSON.stringify({ model: 'mock/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 20, ...extra }),
    ...(signal ? { signal } : {}),
  });
  await res.text();
  return { status: res.status, retry: res.headers.get('x-should-retry'), cost: Number(res.headers.get('x-tagspend-cost-usd') ?? 0) };
}

describe('a fleet of proxies on one store', () => {
  test('3 proxies under concurrent load overshoot by at most what the others admit within a share interval', async () => {
    for (let i = 0; i < 3; i++) proxies.push(await startTestProxy({ upstreamUrl: mock.url, config: s3Config('fleet') }));
    const [a] = proxies;
    const unit = (await chat(a!, 'probe:unit')).cost;
    assert.ok(unit > 0);
    const max = unit * 600.5;
    assert.equal((await admin(a!, '/tag/new', { name: 'app:fleet', max_budget: max, budget_duration: '1d' })).status, 200);
    await Promise.all(proxies.map((p) => p.proxy.budgets!.pollNow()));

    const CLIENTS = 8; // per proxy
    let lastExchangeGapMs = 0;
    const started = Date.now();
    const client = async (p: TestProxy) => {
      for (;;) {
        const r = await chat(p, 'app:fleet', { mock_latency_ms: LATENCY_MS });
        if (r.status === 200) continue;
        assert.equal(r.status, 429);
        if (r.retry === 'true') {
          await new Promise((res) => setTimeout(res, 5));
          continue;
        }
        return;
      }
    };
    await Promise.all(proxies.flatMap((p) => Array.from({ length: CLIENTS }, () => client(p))));
    lastExchangeGapMs = Date.now() - started;

    const costs = proxies.flatMap((p) => p.records().filter((r) => r.tags.includes('app:fleet') && r.cost_usd).map((r) => r.cost_usd!));
    const total = costs.reduce((x, y) => x + y, 0);
    // What one proxy can admit while the others do not know of it yet: each client sends at most
    // one request per LATENCY_MS, and the others learn of it by its next exchange and theirs after
    // that: two gaps between exchanges (a share interval, as late as the timers fire on this
    // machine, plus the exchange) and one more exchange, all as measured during the run.
    const perProxyPerSecond = (CLIENTS * unit) / (LATENCY_MS / 1000);
    const fleets = proxies.map((p) => p.proxy.budgets!.fleet);
    const slowest = Math.max(...fleets.map((f) => f.slowestExchangeMs)) / 1000;
    // Between successful exchanges: a failed one (the store slow or refusing under load) publishes
    // and learns nothing, so the knowledge is as old as the last success.
    const gap = Math.max(...fleets.map((f) => Math.max(f.longestGapMs, f.longestSuccessGapMs))) / 1000;
    const failures = fleets.map((f) => f.failures);
    const lagSeconds = 2 * gap + slowest;
    const bound = max + (proxies.length - 1) * perProxyPerSecond * lagSeconds + Math.max(...costs);
    assert.ok(total >= max, `the budget was used: ${total} of ${max}`);
    assert.ok(total <= bound, `total ${total / unit} units <= bound ${bound / unit} units (max ${max / unit}, longest gap ${gap} s, slowest exchange ${slowest} s, failed exchanges ${failures.join('/')}), in ${lastExchangeGapMs} ms`);
    // Without sharing each proxy alone would fill the whole budget: three times it. (How far below
    // depends on the gaps measured above: on a loaded machine the bound itself nears 2x.)
    assert.ok(total < max * 3 - unit, `${total / unit} units: below the ${(3 * max) / unit} of proxies that do not share`);
    // One more exchange each way: the figures read last may predate the last requests' ends.
    for (let round = 0; round < 2; round++) for (const p of proxies) await p.proxy.budgets!.shareNow();
    for (const p of proxies) {
      const info = (await admin(p, '/tag/info?names=app:fleet')).json[0];
      assert.equal(info.blocked, true, `${JSON.stringify(info)} total ${total}`);
      assert.equal(info.reserved, 0, 'nothing left in flight');
    }
    const files = [];
    for await (const f of store.list(USAGE_PREFIX)) files.push(f.key);
    assert.equal(files.length, 3, `one usage file per proxy: ${files}`);
  });

  test('a killed proxy\'s reservations expire: the others admit again after share_stale_seconds', async () => {
    const [a] = proxies;
    const dataDir = mkdtempSync(join(tmpdir(), 'tagspend-fleet-child-'));
    const env = {
      ...faultTestEnv({ s3Endpoint: s3.endpoint, bucket: s3.bucket, prefix: 'fleet', upstreamUrl: mock.url }),
      TAGSPEND_MASTER_KEY: MASTER,
      TAGSPEND_BUDGETS__SHARE_INTERVAL_SECONDS: String(SHARE_S),
      TAGSPEND_BUDGETS__SHARE_STALE_SECONDS: String(STALE_S),
      TAGSPEND_BUDGETS__POLL_INTERVAL_SECONDS: '0.5',
    };
    // A budget one slow request of the child fills with its reservation (~$0.00007 for 100
    // output tokens) while its real spend is nothing yet.
    assert.equal((await admin(a!, '/tag/new', { name: 'app:kill', max_budget: 0.00005, budget_duration: '1d' })).status, 200);
    const child = await spawnCliProxy({ dataDir, env });
    try {
      const abort = new AbortController();
      const slow = chat(child, 'app:kill', { mock_latency_ms: 60_000, max_tokens: 100 }, abort.signal).catch(() => null);
      const seen = await waitFor(async () => {
        const info = (await admin(a!, '/tag/info?names=app:kill')).json[0];
        return info.reserved > 0 ? info : null;
      }, 'proxy a to see the child\'s reservation');
      assert.equal(seen.spend, 0);
      const held = await chat(a!, 'app:kill');
      assert.deepEqual([held.status, held.retry], [429, 'true'], 'held back by the other proxy\'s request in flight');

      child.child.kill('SIGKILL');
      await child.exited;
      abort.abort();
      await slow;
      const t0 = Date.now();
      await waitFor(async () => ((await admin(a!, '/tag/info?names=app:kill')).json[0].reserved === 0 ? true : null), 'the dead proxy\'s reservation to expire');
      assert.ok(Date.now() - t0 >= STALE_S * 1000 * 0.5, 'not before the file went stale');
      assert.equal((await chat(a!, 'app:kill')).status, 200);
    } finally {
      if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill('SIGKILL');
      await child.exited;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

/** A local store that fails every call while `down` (a store outage seen from the proxy). */
function outageStore(inner: LocalStore): { store: ObjectStore; setDown(v: boolean): void } {
  let down = false;
  const fail = () => Promise.reject(new StoreUnavailableError('connect ECONNREFUSED (test outage)'));
  const store = new Proxy(inner, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target);
      if (typeof v !== 'function') return v;
      if (prop === 'list') {
        return (...args: unknown[]) => {
          if (!down) return (v as (...a: unknown[]) => unknown).apply(target, args);
          return (async function* () {
            await fail();
          })();
        };
      }
      if (prop === 'close' || prop === 'url') return v.bind(target);
      return (...args: unknown[]) => (down ? fail() : (v as (...a: unknown[]) => unknown).apply(target, args));
    },
  }) as ObjectStore;
  return { store, setDown: (v) => (down = v) };
}

describe('store outage', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tagspend-outage-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function metric(p: TestProxy, name: string): Promise<number> {
    const text = await (await fetch(`${p.url}/metrics`)).text();
    return Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN);
  }

  for (const failClosed of [false, true]) {
    test(failClosed ? 'fail_closed: budgeted requests get 503 while the store is unreachable, unbudgeted ones pass' : 'fail-open (default): requests go on from local knowledge, with the warning metric up', async () => {
      const inner = new LocalStore(join(dir, failClosed ? 'closed' : 'open'));
      const { store: flaky, setDown } = outageStore(inner);
      const p = await startTestProxy({
        upstreamUrl: mock.url,
        config: { master_key: MASTER, budgets: { poll_interval_seconds: 0.5, share_interval_seconds: SHARE_S, share_stale_seconds: STALE_S, fail_closed: failClosed } },
        proxyOptions: { store: flaky },
      });
      try {
        await admin(p, '/tag/new', { name: 'app:outage', max_budget: 10, budget_duration: '1d' });
        assert.equal((await chat(p, 'app:outage')).status, 200);
        assert.equal(await metric(p, 'tagspend_budget_store_unreachable'), 0);

        setDown(true);
        await waitFor(async () => (await metric(p, 'tagspend_budget_store_unreachable')) === 1, 'the metric to report the outage');
        assert.ok((await metric(p, 'tagspend_budget_share_failures_total')) > 0);
        const during = await fetch(`${p.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json', 'x-litellm-tags': 'app:outage' },
          body: JSON.stringify({ model: 'mock/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }),
        });
        const body = (await during.json()) as any;
        if (failClosed) {
          assert.equal(during.status, 503);
          assert.equal(body.error.code, 'budget_store_unavailable');
          assert.match(body.error.message, /budgets\.fail_closed/);
          assert.equal((await chat(p, 'app:free')).status, 200, 'a request under no budget is not held');
        } else {
          assert.equal(during.status, 200);
        }
        setDown(false);
        await waitFor(async () => (await metric(p, 'tagspend_budget_store_unreachable')) === 0, 'the store to be back');
        assert.equal((await chat(p, 'app:outage')).status, 200);
      } finally {
        await p.close();
        await inner.close();
      }
    });
  }
});

describe('usage files', () => {
  test('unchanged figures are not written again until half the stale limit; customers are capped at the biggest spenders', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tagspend-usage-'));
    const local = new LocalStore(dir);
    let now = Date.parse('2026-11-20T12:00:00Z');
    let figures: SharedFigure[] = [{ kind: 'tag', name: 'app:x', windowStart: Date.parse('2026-11-20T00:00:00Z'), spend: 1, reserved: 0 }];
    const gate = { watermark: Number.NEGATIVE_INFINITY, ownFigures: () => figures, applyOthers: () => {} };
    const fleet = new Fleet({ store: local, instance: 'web1.abc', gate, clock: () => now, logger: silentLogger, staleMs: 10_000 });
    try {
      await fleet.exchange();
      now += 2000;
      await fleet.exchange();
      assert.equal(fleet.puts, 1, 'the same figures two seconds later: not written again');
      now += 3000;
      await fleet.exchange();
      assert.equal(fleet.puts, 2, 'half the stale limit since the last write: written again, so it never looks dead');
      figures = [
        ...figures,
        ...Array.from({ length: MAX_PUBLISHED_CUSTOMERS + 5 }, (_, i) => ({ kind: 'customer' as const, name: `c${i}`, windowStart: 0, spend: i, reserved: 0 })),
      ];
      now += 100;
      await fleet.exchange();
      assert.equal(fleet.puts, 3, 'changed figures: written at once');
      const got = await local.get(usageKey('web1.abc'));
      assert.ok(got && 'body' in got);
      const file = parseUsageFile(got.body.toString('utf8'));
      const customers = file.subjects.filter((s) => s.kind === 'customer');
      assert.equal(customers.length, MAX_PUBLISHED_CUSTOMERS);
      assert.ok(!customers.some((c) => c.name === 'c0'), 'the smallest spenders are left out');
      assert.ok(file.subjects.some((s) => s.kind === 'tag'));
    } finally {
      await local.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
  test('an exchange whose store request hangs counts as failed after half the stale limit; the next one reads the figures, and the late one changes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tagspend-usage-'));
    const local = new LocalStore(dir);
    const windowStart = Date.parse('2026-11-20T12:00:00Z');
    const other = (spend: number) =>
      JSON.stringify({ schema: USAGE_SCHEMA, instance: 'other', published_at: new Date().toISOString(), watermark: null, subjects: [{ kind: 'tag', name: 'app:x', window_start: new Date(windowStart).toISOString(), spend, reserved: 0 }] });
    const { store, hangNext, release } = hangingStore(local);
    let seen: SharedFigure[] = [];
    const gate = { watermark: Number.NEGATIVE_INFINITY, ownFigures: () => [], applyOthers: (f: Iterable<SharedFigure>) => void (seen = [...f]) };
    const fleet = new Fleet({ store, instance: 'me', gate, clock: () => Date.now(), logger: silentLogger, staleMs: 200 });
    try {
      await local.put(usageKey('other'), other(5));
      hangNext();
      const t0 = Date.now();
      await fleet.exchange();
      assert.ok(Date.now() - t0 < 1000, 'given up after the deadline (100 ms), not at the socket timeout');
      assert.equal(fleet.failures, 1);
      assert.equal(seen.length, 0, 'nothing applied from the exchange that was given up');
      await local.put(usageKey('other'), other(7));
      await fleet.exchange();
      assert.equal(fleet.failures, 1);
      assert.deepEqual(seen.map((f) => f.spend), [7]);
      release();
      await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(seen.map((f) => f.spend), [7], 'the late answer (spend 5) is discarded');
    } finally {
      await local.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a half-written usage file of another proxy keeps that proxy's last good figures, and is read again next time", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tagspend-usage-'));
    const local = new LocalStore(dir);
    const now = Date.parse('2026-11-20T12:00:00Z');
    const windowStart = Date.parse('2026-11-20T00:00:00Z');
    let seen: SharedFigure[] = [];
    const gate = { watermark: Number.NEGATIVE_INFINITY, ownFigures: () => [], applyOthers: (f: Iterable<SharedFigure>) => (seen = [...f]) };
    const fleet = new Fleet({ store: local, instance: 'web1.abc', gate, clock: () => now, logger: silentLogger, staleMs: 10_000 });
    const peer = (spend: number) =>
      JSON.stringify({ schema: 1, instance: 'web2.def', published_at: new Date(now).toISOString(), watermark: null, subjects: [{ kind: 'tag', name: 'app:x', window_start: new Date(windowStart).toISOString(), spend, reserved: 0.5 }] });
    try {
      await local.put(usageKey('web2.def'), peer(3));
      await fleet.exchange();
      assert.deepEqual(seen.map((f) => [f.name, f.spend, f.reserved]), [['app:x', 3, 0.5]]);
      await local.put(usageKey('web2.def'), peer(4).slice(0, 40));
      await fleet.exchange();
      assert.deepEqual(seen.map((f) => [f.name, f.spend, f.reserved]), [['app:x', 3, 0.5]], 'the last good figures still count');
      await local.put(usageKey('web2.def'), peer(5));
      await fleet.exchange();
      assert.deepEqual(seen.map((f) => [f.name, f.spend, f.reserved]), [['app:x', 5, 0.5]]);
      assert.equal(fleet.failures, 0);
    } finally {
      await local.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
