// Reservations: every request under a budget holds its worst-case cost until it ends, so
// concurrent requests cannot all slip under a budget that is nearly used up. One proxy, the mock
// provider, the proxy's own local store, and the budgets job on the same data directory.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runJob } from '../../jobs/run/runner.ts';
import { jobSettings } from '../../jobs/run/settings.ts';
import { BLOCKLIST_KEY, parseBlockList } from '../../src/budget/blocklist.ts';
import { loadConfig } from '../../src/config/load.ts';
import { silentLogger } from '../../src/log.ts';
import { startMockUpstream } from '../../src/mock/upstream.ts';
import { LocalStore } from '../../src/store/local.ts';
import { startTestProxy, waitFor, type TestProxy } from '../helpers/proxy.ts';

const MASTER = 'sk-master-0123456789';
let mock: Awaited<ReturnType<typeof startMockUpstream>>;
let tp: TestProxy;
let uncapped: TestProxy;
let dir: string;

/** Claude Opus 5.5 as the issue prices it: $2.56 for 128,000 output tokens. */
const PRICES = `models:
  anthropic/claude-opus-5-5:
    input_usd_per_1m: 4
    output_usd_per_1m: 20
    cache_write_usd_per_1m: 5
    cached_input_usd_per_1m: 0.2
  openai/error-500:
    input_usd_per_1m: 1
    output_usd_per_1m: 1
`;

function config(extra: Record<string, unknown> = {}) {
  return { master_key: MASTER, budgets: { poll_interval_seconds: 3600, share_interval_seconds: 3600 }, pricing: { overrides_file: join(dir, 'prices.yaml') }, ...extra };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tagspend-reservations-'));
  writeFileSync(join(dir, 'prices.yaml'), PRICES);
  mock = await startMockUpstream();
  tp = await startTestProxy({ upstreamUrl: mock.url, config: config() });
  uncapped = await startTestProxy({ upstreamUrl: mock.url, config: config({ budgets: { poll_interval_seconds: 3600, share_interval_seconds: 3600, reservation_output_tokens_cap: 0 } }) });
});

after(async () => {
  await tp?.close();
  await uncapped?.close();
  await mock?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: Headers;
  json: any;
}

async function chat(p: TestProxy, body: Record<string, unknown>, tags: string, signal?: AbortSignal): Promise<Answer> {
  const res = await fetch(`${p.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json', 'x-litellm-tags': tags },
    body: JSON.stringify({ model: 'mock/gpt-4o-mini', messages: [{ role: 'user', content: 'Is my order late?' }], ...body }),
    ...(signal ? { signal } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text.startsWith('{') ? JSON.parse(text) : text };
}

async function admin(p: TestProxy, path: string, body?: unknown) {
  const res = await fetch(`${p.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as any };
}

async function tagState(p: TestProxy, tag: string) {
  return (await admin(p, `/tag/info?names=${encodeURIComponent(tag)}`)).json[0];
}

function parseBlockListWatermark(p: TestProxy): string {
  return p.proxy.budgets!.blockList.current!.watermark!;
}

function spendOf(p: TestProxy, tag: string): number[] {
  return p.records().filter((r) => r.tags.includes(tag) && r.cost_usd).map((r) => r.cost_usd!);
}

describe('reservations', () => {
  test('50 concurrent clients on one tag: final spend <= max_budget + the largest request, and the budgets job agrees', async () => {
    const probe = await chat(tp, { max_tokens: 50 }, 'probe:race');
    const unit = Number(probe.headers.get('x-tagspend-cost-usd'));
    assert.ok(unit > 0);
    const max = unit * 9.5;
    assert.equal((await admin(tp, '/tag/new', { name: 'app:race', max_budget: max, budget_duration: '1d' })).status, 200);

    let transient = 0;
    const client = async () => {
      for (;;) {
        const r = await chat(tp, { max_tokens: 50, mock_latency_ms: 60 }, 'app:race,env:test');
        if (r.status === 200) continue;
        assert.equal(r.status, 429, JSON.stringify(r.json));
        // Only requests in flight fill the budget: the client may retry shortly.
        if (r.headers.get('x-should-retry') === 'true') {
          transient += 1;
          await new Promise((res) => setTimeout(res, 5));
          continue;
        }
        return;
      }
    };
    await Promise.all(Array.from({ length: 50 }, client));

    const costs = spendOf(tp, 'app:race');
    const total = costs.reduce((a, b) => a + b, 0);
    const largest = Math.max(...costs);
    assert.ok(total >= max, `the budget was used: ${total} of ${max}`);
    assert.ok(total <= max + largest + 1e-12, `final spend ${total} <= ${max} + ${largest}`);
    assert.ok(transient > 0, 'concurrent requests were held back by reservations');
    const state = await tagState(tp, 'app:race');
    assert.equal(state.reserved, 0, `every reservation was settled: ${JSON.stringify(state)} ${total}`);
    assert.equal(state.blocked, true);

    // The budgets job, from the shipped records, says the same (the spool is gone once shipped).
    const logged = tp.records().filter((r) => r.tags.includes('app:race'));
    tp.proxy.writer.rotate();
    assert.ok(await tp.proxy.shipper!.drain(10_000));
    const resolved = loadConfig({ env: {}, overrides: { data_dir: tp.dataDir, jobs: { threads: 2 } } });
    const store = new LocalStore(join(tp.dataDir, 'store'));
    try {
      const run = await runJob({ job: 'reconcile', trigger: 'cli', full: true }, { settings: jobSettings(resolved), store, log: silentLogger });
      assert.equal(run.status, 'success', run.error ?? '');
      const got = await store.get(BLOCKLIST_KEY);
      assert.ok(got && 'body' in got);
      const entry = parseBlockList(got.body.toString('utf8')).tags['app:race']!;
      assert.ok(Math.abs(entry.spend - total) < 1e-9, `${entry.spend} vs ${total}`);
      assert.equal(entry.blocked, true, JSON.stringify(entry));
    } finally {
      await store.close();
    }
    await tp.proxy.budgets!.pollNow();
    const after = await tagState(tp, 'app:race');
    assert.ok(Math.abs(after.reconciled_spend - total) < 1e-6);
    // Own spend is kept per second: what ended in the watermark's second is counted on top,
    // never less (erring on blocking).
    const lastSecond = Math.floor(Date.parse(parseBlockListWatermark(tp)) / 1000) * 1000;
    const residue = logged.filter((r) => Date.parse(r.end_ts) >= lastSecond).reduce((a, r) => a + (r.cost_usd ?? 0), 0);
    assert.ok(after.unreconciled_spend <= residue + 1e-6, `${after.unreconciled_spend} <= ${residue}`);
  });

  test('every ending settles the reservation: success, stream, upstream error, client disconnect', async () => {
    assert.equal((await admin(tp, '/tag/new', { name: 'app:ends', max_budget: 1, budget_duration: '1d' })).status, 200);
    assert.equal((await chat(tp, { max_tokens: 10 }, 'app:ends')).status, 200);
    const stream = await chat(tp, { max_tokens: 10, stream: true }, 'app:ends');
    assert.equal(stream.status, 200);
    // The mock answers model error-<status> with that status (priced above, so it is admitted).
    assert.equal((await chat(tp, { model: 'mock/error-500', max_tokens: 10 }, 'app:ends')).status, 500);

    const abort = new AbortController();
    const gone = chat(tp, { max_tokens: 10, mock_latency_ms: 30_000 }, 'app:ends', abort.signal).catch((e: unknown) => e);
    const held = await waitFor(async () => {
      const s = await tagState(tp, 'app:ends');
      return s.reserved > 0 ? s : null;
    }, 'the slow request to hold a reservation');
    assert.ok(held.reserved > 0);
    abort.abort();
    assert.ok((await gone) instanceof Error);
    const settled = await waitFor(async () => {
      const s = await tagState(tp, 'app:ends');
      return s.reserved === 0 ? s : null;
    }, 'the reservation of the disconnected request to be released');

    const recs = tp.records().filter((r) => r.tags.includes('app:ends'));
    assert.deepEqual(recs.map((r) => r.outcome), ['success', 'success', 'upstream_error', 'client_disconnect']);
    const paid = recs.slice(0, 2).reduce((a, r) => a + r.cost_usd!, 0);
    // The disconnected request had no usage: it counts at the input part of its estimate.
    assert.ok(settled.unreconciled_spend > paid, `${settled.unreconciled_spend} > ${paid}`);
    assert.ok(settled.unreconciled_spend < paid + 0.001);
  });

  test('a model without a price under a budget is refused with a 400 naming it, and still recorded; without a budget it passes', async () => {
    const r = await chat(tp, { model: 'mock/no-such-priced-model', max_tokens: 5 }, 'app:ends');
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'model_price_unknown');
    assert.equal(r.json.error.param, 'model');
    assert.match(r.json.error.message, /`mock\/no-such-priced-model` has no known price.*Tag=app:ends/);
    const rec = tp.records().find((x) => x.request_id === r.headers.get('x-tagspend-request-id'))!;
    assert.deepEqual([rec.outcome, rec.status, rec.model], ['invalid_request', 400, 'mock/no-such-priced-model']);
    const free = await chat(tp, { model: 'mock/no-such-priced-model', max_tokens: 5 }, 'app:unbudgeted');
    assert.equal(free.status, 200);
  });

  test('a Claude-Code-shaped request (max_tokens 128000, streamed, a large system prompt and tools) works under a $1 budget', async () => {
    const system = 'You are Claude Code, an interactive CLI tool. '.repeat(900); // ~40 KB
    const tools = Array.from({ length: 30 }, (_, i) => ({
      type: 'function',
      function: { name: `Tool${i}`, description: 'Reads, edits or runs things in the repository. '.repeat(12), parameters: { type: 'object', properties: { path: { type: 'string' } } } },
    }));
    const turn = (p: TestProxy) =>
      chat(
        p,
        {
          model: 'mock/claude-opus-5-5',
          max_tokens: 128_000,
          stream: true,
          messages: [{ role: 'system', content: system }, { role: 'user', content: 'Fix the failing test in src/app.ts' }],
          tools,
          mock_completion_tokens: 300,
          mock_latency_ms: 300,
        },
        'team:coding',
      );
    for (const p of [tp, uncapped]) {
      assert.equal((await admin(p, '/tag/new', { name: 'team:coding', max_budget: 1, budget_duration: '1d' })).status, 200);
    }
    // Output counted at the 16,384-token cap: two such turns fit in flight together under $1.
    const [a, b] = await Promise.all([turn(tp), turn(tp)]);
    assert.deepEqual([a.status, b.status], [200, 200]);
    // A session goes on turn after turn: each one is settled at its real cost (~$0.06).
    for (let i = 0; i < 4; i++) assert.equal((await turn(tp)).status, 200);
    const spent = spendOf(tp, 'team:coding').reduce((x, y) => x + y, 0);
    assert.ok(spent > 0.2 && spent < 1, `six turns cost ${spent}`);

    // The naive worst case ($2.56 of output alone) lets one turn in at a time: the second is held back.
    const [c, d] = await Promise.all([turn(uncapped), new Promise((r) => setTimeout(r, 100)).then(() => turn(uncapped))]);
    assert.equal(c.status, 200);
    assert.equal(d.status, 429);
    assert.equal(d.headers.get('x-should-retry'), 'true', 'held back by a reservation only: retrying is allowed');
    assert.equal(d.headers.get('retry-after'), '1');
  });
});
