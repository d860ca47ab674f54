// `npm run bench`: throughput of non-streamed chat completions with 50 connections against
// the simulated provider: direct, through the bare pass-through baseline, and through
// tagspend with auth, attribution, pricing and spend logging on. Each server runs in its own
// process; autocannon runs here. Not a test: it prints figures, it does not gate CI.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const KEY = 'sk-bench-key-0123456789';

const children: ChildProcess[] = [];

async function spawnServer(args: string[], env: NodeJS.ProcessEnv, parse: (line: string) => string | null): Promise<string> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  for await (const line of createInterface({ input: child.stdout! })) {
    const url = parse(line);
    if (url) return url;
  }
  throw new Error(`${args.join(' ')} exited before listening`);
}

const body = JSON.stringify({
  model: 'mock/gpt-4o-mini',
  messages: [
    { role: 'system', content: 'You are a helpful support assistant for an online shop.' },
    { role: 'user', content: 'Where is my order #12345? It was due yesterday.' },
  ],
  max_tokens: 40,
  user: 'customer_54321',
  metadata: { tags: ['app:support-bot', 'env:production'], spend_logs_metadata: { project: 'q4-sales-analysis' } },
});

async function run(name: string, url: string, path: string): Promise<autocannon.Result> {
  const opts = {
    url: url + path,
    method: 'POST' as const,
    connections: CONNECTIONS,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'x-litellm-tags': 'team:cx, tenant:acme' },
    body,
  };
  await autocannon({ ...opts, duration: 2 }); // warm-up: JIT, pools, page cache
  const r = await autocannon({ ...opts, duration: DURATION });
  const errors = r.errors + r.timeouts + r.non2xx;
  console.log(
    `${name.padEnd(28)} ${r.requests.average.toFixed(0).padStart(7)} req/s   p50 ${String(r.latency.p50).padStart(4)} ms   p99 ${String(r.latency.p99).padStart(4)} ms   ${r.requests.total} requests, ${errors} errors`,
  );
  return r;
}

async function recordsWritten(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^tagspend_spend_records_written_total (\d+)/m.exec(text)?.[1] ?? NaN);
}

const dataDir = mkdtempSync(join(tmpdir(), 'tagspend-bench-'));
try {
  const mockUrl = await spawnServer(['bin/tagspend.js', 'mock-upstream', '--port', '0'], {}, (l) => /listening on (\S+)/.exec(l)?.[1] ?? null);
  const baseUrl = await spawnServer(['--import', 'tsx', 'bench/passthrough.ts'], { UPSTREAM_URL: mockUrl }, (l) => JSON.parse(l).url);
  const proxyUrl = await spawnServer(
    ['--import', 'tsx', 'test/helpers/proxy-child.ts'],
    {
      TAGSPEND_DATA_DIR: dataDir,
      TAGSPEND_PROVIDERS: JSON.stringify({ mock: { base_url: mockUrl } }),
      TAGSPEND_KEYS: JSON.stringify([{ key: KEY, alias: 'bench', tags: ['key:bench'] }]),
    },
    (l) => JSON.parse(l).url,
  );
  console.log(`non-streamed chat completions, ${CONNECTIONS} connections, ${DURATION} s each, ${process.env.BENCH_LABEL ?? ''}`);
  const direct = await run('mock upstream (direct)', mockUrl.replace(/\/v1$/, ''), '/v1/chat/completions');
  const base = await run('bare pass-through baseline', baseUrl, '/v1/chat/completions');
  const before = await recordsWritten(proxyUrl);
  const ts = await run('tagspend', proxyUrl, '/v1/chat/completions');
  const records = (await recordsWritten(proxyUrl)) - before;
  const ratio = ts.requests.average / base.requests.average;
  console.log('');
  console.log(`tagspend / baseline: ${(ratio * 100).toFixed(1)}% (target >= 85%), tagspend ${ts.requests.average.toFixed(0)} req/s (target >= 4000)`);
  console.log(`records written during the measured run: ${records} for ${ts.requests.total} answered requests (+ warm-up excluded)`);
  console.log(`direct mock: ${direct.requests.average.toFixed(0)} req/s`);
} finally {
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null ? once(c, 'exit') : null)));
  rmSync(dataDir, { recursive: true, force: true });
}
