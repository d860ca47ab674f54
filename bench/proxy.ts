// `npm run bench`: throughput of non-streamed chat completions with 50 connections against
// the simulated provider: direct, through the bare pass-through baseline, through tagspend with
// auth, attribution, pricing and spend logging on, and through tagspend with 20 budgeted tags
// active (every request touches 5 of them: reservations, settlement, the usage exchange). Each
// server runs in its own process; autocannon runs here. Not a test: it prints figures, it does
// not gate CI. BENCH_BUDGETS=0 leaves the budgeted variant out. Then the same for non-streamed
// Anthropic Messages requests (`/v1/messages`, without the budgeted variant); BENCH_API=chat or
// BENCH_API=messages runs one of the two.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { TagRegistry } from '../src/budget/tags.ts';
import { LocalStore } from '../src/store/local.ts';
import { CHAT_BODY, MESSAGES_BODY, cpuMicros, sysMicros } from './common.ts';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const KEY = 'sk-bench-key-0123456789';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BUDGETED_TAGS = Number(process.env.BENCH_BUDGETS ?? 20);
/** The tags every request carries (body, header, key): each one budgeted in the budgeted variant. */
const REQUEST_TAGS = ['app:support-bot', 'env:production', 'team:cx', 'tenant:acme', 'key:bench'];
const APIS = (process.env.BENCH_API ?? 'chat,messages').split(',');

interface Workload {
  label: string;
  path: string;
  body: string;
}

const WORKLOADS: Record<string, Workload> = {
  chat: { label: 'non-streamed chat completions', path: '/v1/chat/completions', body: CHAT_BODY },
  messages: { label: 'non-streamed Anthropic messages', path: '/v1/messages', body: MESSAGES_BODY },
};

type Measured = autocannon.Result & { cpuPerRequest: number; records: number };

function median(runs: Measured[]): { rps: number; cpu: number } {
  const mid = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  return { rps: mid(runs.map((r) => r.requests.average)), cpu: mid(runs.map((r) => r.cpuPerRequest)) };
}

const children: ChildProcess[] = [];

interface Server {
  url: string;
  pid: number;
  /** Where tagspend's /metrics is (to count spend records written). */
  metricsUrl?: string;
}

async function spawnServer(args: string[], env: NodeJS.ProcessEnv, parse: (line: string) => string | null): Promise<Server> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  for await (const line of createInterface({ input: child.stdout! })) {
    const url = parse(line);
    if (url) return { url, pid: child.pid! };
  }
  throw new Error(`${args.join(' ')} exited before listening`);
}

async function run(name: string, server: Server, w: Workload): Promise<Measured> {
  const opts = {
    url: server.url + w.path,
    method: 'POST' as const,
    connections: CONNECTIONS,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'x-litellm-tags': 'team:cx, tenant:acme' },
    body: w.body,
  };
  await autocannon({ ...opts, duration: 2 }); // warm-up: JIT, pools, page cache
  const records0 = server.metricsUrl ? await recordsWritten(server.metricsUrl) : 0;
  const cpu0 = cpuMicros(server.pid);
  const sys0 = sysMicros(server.pid);
  const r = await autocannon({ ...opts, duration: DURATION });
  const cpuPerRequest = (cpuMicros(server.pid) - cpu0) / r.requests.total;
  const sysPerRequest = (sysMicros(server.pid) - sys0) / r.requests.total;
  // Records are counted once the last response is in: every answered request must have one.
  const records = server.metricsUrl ? (await recordsWritten(server.metricsUrl)) - records0 : 0;
  const errors = r.errors + r.timeouts + r.non2xx;
  console.log(
    `${name.padEnd(28)} ${r.requests.average.toFixed(0).padStart(7)} req/s   p50 ${String(r.latency.p50).padStart(4)} ms   p99 ${String(r.latency.p99).padStart(4)} ms   ${cpuPerRequest.toFixed(0).padStart(4)} µs CPU/req (${sysPerRequest.toFixed(0)} sys)   ${r.requests.total} requests, ${errors} errors`,
  );
  return { ...r, cpuPerRequest, records };
}

async function recordsWritten(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^tagspend_spend_records_written_total (\d+)/m.exec(text)?.[1] ?? NaN);
}

/** Budget definitions in the budgeted proxy's own store: the request's tags plus others up to `n`. */
async function defineBudgets(storeDir: string, n: number): Promise<void> {
  const store = new LocalStore(storeDir);
  const registry = new TagRegistry(store);
  const names = [...REQUEST_TAGS, ...Array.from({ length: Math.max(0, n - REQUEST_TAGS.length) }, (_, i) => `team:other-${i}`)].slice(0, n);
  // Budgets far above what a run spends: every request is admitted, reserved and settled.
  for (const name of names) await registry.create({ name, max_budget: 1e9, budget_duration: '1mo' }, Date.now());
  await store.close();
}

/** Baseline and tagspend alternate (A B B A ...) so drift in machine load hits both alike. */
async function compare(w: Workload, mock: Server, base: Server, proxy: Server, budgeted: Server | null): Promise<void> {
  console.log(`${w.label}, ${CONNECTIONS} connections, ${DURATION} s each, ${process.env.BENCH_LABEL ?? ''}`);
  await run('mock upstream (direct)', mock, w);
  const bases: Measured[] = [];
  const tags: Measured[] = [];
  const budgetRuns: Measured[] = [];
  let records = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const order = ['base', 'tagspend', ...(budgeted ? ['budgets'] : [])];
    if (round % 2 === 1) order.reverse();
    for (const which of order) {
      if (which === 'base') {
        bases.push(await run('bare pass-through baseline', base, w));
      } else if (which === 'tagspend') {
        const r = await run('tagspend', { ...proxy, metricsUrl: proxy.url }, w);
        records += r.records;
        tags.push(r);
      } else {
        budgetRuns.push(await run(`tagspend, ${BUDGETED_TAGS} budgeted tags`, { ...budgeted!, metricsUrl: budgeted!.url }, w));
      }
    }
  }
  const b = median(bases);
  const ts = median(tags);
  const answered = tags.reduce((n, r) => n + r.requests.total, 0);
  console.log('');
  console.log(`${w.label}: medians over ${ROUNDS} round(s):`);
  console.log(`  baseline ${b.rps.toFixed(0)} req/s, ${b.cpu.toFixed(0)} µs CPU/req; tagspend ${ts.rps.toFixed(0)} req/s, ${ts.cpu.toFixed(0)} µs CPU/req`);
  console.log(`  tagspend / baseline: ${((ts.rps / b.rps) * 100).toFixed(1)}% of the RPS (target >= 85%); tagspend ${ts.rps.toFixed(0)} req/s (target >= 4000)`);
  console.log(`  tagspend work per request: +${(ts.cpu - b.cpu).toFixed(0)} µs CPU over the baseline`);
  console.log(`  spend records written during measured runs: ${records} for ${answered} completed responses (requests still in flight when a run stops are answered and recorded too)`);
  if (budgetRuns.length) {
    const bu = median(budgetRuns);
    console.log(
      `  with ${BUDGETED_TAGS} budgeted tags (5 on every request): ${bu.rps.toFixed(0)} req/s, ${bu.cpu.toFixed(0)} µs CPU/req; ` +
        `${((bu.rps / ts.rps) * 100).toFixed(1)}% of tagspend without budgets (target >= 95%), +${(bu.cpu - ts.cpu).toFixed(0)} µs CPU/req`,
    );
  }
  console.log('');
}

const dataDir = mkdtempSync(join(tmpdir(), 'tagspend-bench-'));
const budgetDir = mkdtempSync(join(tmpdir(), 'tagspend-bench-budgets-'));
try {
  const mock = await spawnServer(['bin/tagspend.js', 'mock-upstream', '--port', '0'], {}, (l) => /listening on (\S+)/.exec(l)?.[1]?.replace(/\/v1$/, '') ?? null);
  const mockUrl = `${mock.url}/v1`;
  const base = await spawnServer(['--import', 'tsx', 'bench/passthrough.ts'], { UPSTREAM_URL: mockUrl }, (l) => JSON.parse(l).url);
  const proxyEnv = (dir: string) => ({
    TAGSPEND_DATA_DIR: dir,
    TAGSPEND_PROVIDERS: JSON.stringify({ mock: { base_url: mockUrl, anthropic_native: true } }),
    TAGSPEND_KEYS: JSON.stringify([{ key: KEY, alias: 'bench', tags: ['key:bench'] }]),
    // Segments never rotate during a run: `npm run bench:shipping` measures rotation and upload.
    TAGSPEND_SPEND_LOG__SEGMENT_MAX_AGE_SECONDS: '86400',
  });
  const proxy = await spawnServer(['--import', 'tsx', process.env.BENCH_PROXY_ENTRY ?? 'test/helpers/proxy-child.ts'], proxyEnv(dataDir), (l) => JSON.parse(l).url);
  let budgeted: Server | null = null;
  if (BUDGETED_TAGS > 0) {
    await defineBudgets(join(budgetDir, 'store'), BUDGETED_TAGS);
    budgeted = await spawnServer(['--import', 'tsx', process.env.BENCH_PROXY_ENTRY ?? 'test/helpers/proxy-child.ts'], proxyEnv(budgetDir), (l) => JSON.parse(l).url);
  }
  for (const api of APIS) {
    const w = WORKLOADS[api];
    if (!w) throw new Error(`BENCH_API: unknown workload ${api} (chat, messages)`);
    // The budgeted variant measures reservations on the chat path only.
    await compare(w, mock, base, proxy, api === 'chat' ? budgeted : null);
  }
} finally {
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null ? once(c, 'exit') : null)));
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(budgetDir, { recursive: true, force: true });
}
