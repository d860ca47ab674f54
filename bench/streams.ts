// `npm run bench:streams`: many concurrent long-lived SSE streams through the proxy, against the
// simulated provider, in four upstream set-ups:
//   h1, cap 256      the old default upstream.connections: streams beyond 256 wait in the proxy
//   h1, no cap       the default now
//   https h1, no cap the same over TLS (the fair comparison for h2)
//   https h2         upstream.allow_h2 (ALPN; the mock speaks h2), without and with a cap of 16
// Each prints the wall time for all streams, the proxy's CPU per stream and the upstream
// connections it held. The proxy and the provider each run in their own process; the client
// runs here. Not a test: it prints figures, it does not gate CI.
//   BENCH_STREAMS (1000), BENCH_CHUNKS (20 frames a stream), BENCH_CHUNK_DELAY_MS (250),
//   BENCH_SCENARIOS (comma-separated names below; default all)
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Agent } from 'undici';
import { hasOpenssl, makeSelfSignedCert, type TestCert } from '../test/helpers/tls-cert.ts';
import { cpuMicros } from './common.ts';

const STREAMS = Number(process.env.BENCH_STREAMS ?? 1000);
const CHUNKS = Number(process.env.BENCH_CHUNKS ?? 20);
const DELAY = Number(process.env.BENCH_CHUNK_DELAY_MS ?? 250);

interface Scenario {
  name: string;
  tls: boolean;
  http2: boolean;
  upstream: Record<string, unknown>;
}

const SCENARIOS: Scenario[] = [
  { name: 'h1-cap256', tls: false, http2: false, upstream: { connections: 256 } },
  { name: 'h1', tls: false, http2: false, upstream: {} },
  { name: 'https-h1', tls: true, http2: true, upstream: {} },
  { name: 'https-h2', tls: true, http2: true, upstream: { allow_h2: true } },
  // undici opens a connection per request that finds every connection busy or still connecting,
  // so a burst gets as many h2 connections as h1 ones unless a cap makes requests share them
  // (up to 100 streams each, undici's maxConcurrentStreams).
  { name: 'https-h2-cap16', tls: true, http2: true, upstream: { allow_h2: true, connections: 16 } },
];

const children: ChildProcess[] = [];

async function spawnChild(args: string[], env: NodeJS.ProcessEnv): Promise<{ url: string; pid: number; child: ChildProcess }> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  for await (const line of createInterface({ input: child.stdout! })) {
    const { url, pid } = JSON.parse(line) as { url: string; pid: number };
    return { url, pid, child };
  }
  throw new Error(`${args.join(' ')} exited before listening`);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

const client = new Agent({ connections: null, keepAliveTimeout: 60_000 });

async function oneStream(url: string): Promise<void> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true, max_tokens: CHUNKS, mock_chunk_delay_ms: DELAY }),
    dispatcher: client,
  } as unknown as RequestInit);
  const text = await res.text();
  if (res.status !== 200 || !text.includes('[DONE]')) throw new Error(`stream failed: ${res.status}`);
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { dispatcher: client } as unknown as RequestInit)).text();
  return Number(new RegExp(`^${name}\\{provider="mock"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
}

async function scenario(s: Scenario, cert: TestCert | null, dataRoot: string): Promise<void> {
  const mock = await spawnChild(['--import', 'tsx', 'bench/mock-child.ts'], s.tls && cert ? { MOCK_TLS_KEY: cert.keyPath, MOCK_TLS_CERT: cert.certPath, MOCK_HTTP2: s.http2 ? '1' : '0' } : {});
  const dataDir = join(dataRoot, s.name);
  const proxy = await spawnChild(['--import', 'tsx', 'test/helpers/proxy-child.ts'], {
    TAGSPEND_DATA_DIR: dataDir,
    TAGSPEND_PROVIDERS: JSON.stringify({ mock: { base_url: mock.url } }),
    TAGSPEND_UPSTREAM: JSON.stringify(s.upstream),
    TAGSPEND_SPEND_LOG__SEGMENT_MAX_AGE_SECONDS: '86400',
    ...(cert ? { NODE_EXTRA_CA_CERTS: cert.certPath } : {}),
  });
  try {
    await Promise.all(Array.from({ length: 20 }, () => oneStream(proxy.url))); // warm-up
    const cpu0 = cpuMicros(proxy.pid);
    const t0 = performance.now();
    let peakQueued = 0;
    let running = true;
    const sampler = (async () => {
      while (running) {
        peakQueued = Math.max(peakQueued, await metric(proxy.url, 'tagspend_upstream_queued_requests'));
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    const results = await Promise.allSettled(Array.from({ length: STREAMS }, () => oneStream(proxy.url)));
    const wall = (performance.now() - t0) / 1000;
    running = false;
    await sampler;
    const cpu = (cpuMicros(proxy.pid) - cpu0) / STREAMS;
    const failed = results.filter((r) => r.status === 'rejected').length;
    const connections = await metric(proxy.url, 'tagspend_upstream_connections');
    console.log(
      `${s.name.padEnd(10)} ${wall.toFixed(2).padStart(7)} s for ${STREAMS} streams   ${cpu.toFixed(0).padStart(6)} µs proxy CPU/stream   ${String(connections).padStart(5)} upstream connections   peak queued ${String(peakQueued).padStart(4)}   ${failed} failed`,
    );
  } finally {
    await stop(proxy.child);
    await stop(mock.child);
  }
}

const dataRoot = mkdtempSync(join(tmpdir(), 'tagspend-bench-streams-'));
try {
  const wanted = process.env.BENCH_SCENARIOS?.split(',');
  const tlsOk = hasOpenssl();
  const cert = tlsOk ? makeSelfSignedCert(dataRoot) : null;
  console.log(`${STREAMS} concurrent streams of ${CHUNKS} frames, ${DELAY} ms apart (ideal: ${((CHUNKS * DELAY) / 1000).toFixed(1)} s)`);
  for (const s of SCENARIOS) {
    if (wanted && !wanted.includes(s.name)) continue;
    if (s.tls && !cert) {
      console.log(`${s.name}: skipped (no openssl for a test certificate)`);
      continue;
    }
    await scenario(s, cert, dataRoot);
  }
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null ? once(c, 'exit') : null)));
  await client.close();
  rmSync(dataRoot, { recursive: true, force: true });
}
