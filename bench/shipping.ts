// `npm run bench:shipping`: what rotating and shipping spend segments costs the proxy. Two proxies
// (bin/tagspend.js proxy, each its own process) in front of the simulated provider: one logging
// to its local segment only (no rotation during the run), one rotating every ~2 s and shipping
// each segment (gzip, upload, verify, delete) to the S3 test server. They are measured in turns,
// A B B A (BENCH_ROUNDS times), so drift on a shared machine falls on both. Not a test: it prints figures.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { CHAT_BODY, cpuMicros } from './common.ts';
import { silentLogger } from '../src/log.ts';
import { Shipper } from '../src/spool/shipper.ts';
import { S3Store } from '../src/store/s3.ts';
import { faultTestEnv, spawnCliProxy, type CliProxy } from '../test/helpers/cli-proxy.ts';
import { s3TestOptions, startS3Server } from '../test/helpers/s3server.ts';

// The AWS SDK's Node 22 notice (README) would be printed by this process and each proxy.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ROTATE_SECONDS = Number(process.env.BENCH_ROTATE_SECONDS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const KEY = 'sk-bench-key-0123456789';
async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
}

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  cpuPerRequest: number;
  requests: number;
  errors: number;
  shipped: number;
  backlogFiles: number;
}

async function measure(p: CliProxy): Promise<Figures> {
  const opts = {
    url: `${p.url}/v1/chat/completions`,
    method: 'POST' as const,
    connections: CONNECTIONS,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'x-litellm-tags': 'team:cx, tenant:acme' },
    body: CHAT_BODY,
  };
  await autocannon({ ...opts, duration: 2 }); // warm-up: JIT, pools, page cache
  const pid = p.child.pid!;
  const shipped0 = await metric(p.url, 'tagspend_segments_shipped_total');
  const cpu0 = cpuMicros(pid);
  const r = await autocannon({ ...opts, duration: DURATION });
  const cpu = cpuMicros(pid) - cpu0;
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    cpuPerRequest: cpu / r.requests.total,
    requests: r.requests.total,
    errors: r.errors + r.timeouts + r.non2xx,
    shipped: (await metric(p.url, 'tagspend_segments_shipped_total')) - shipped0,
    backlogFiles: await metric(p.url, 'tagspend_spool_backlog_files'),
  };
}

function line(name: string, f: Figures): string {
  return `${name.padEnd(34)} ${f.rps.toFixed(0).padStart(6)} req/s   p50 ${String(f.p50).padStart(3)} ms   p99 ${String(f.p99).padStart(4)} ms   ${f.cpuPerRequest.toFixed(0).padStart(4)} µs CPU/req   ${f.shipped} segments shipped, backlog ${f.backlogFiles}, ${f.errors} errors`;
}

/** Waits until the shipping proxy has nothing left to ship, so it does not compete with the next run. */
async function settle(p: CliProxy): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((await metric(p.url, 'tagspend_spool_backlog_files')) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, (ROTATE_SECONDS + 0.5) * 1000)); // the last open segment rotates and ships
  while ((await metric(p.url, 'tagspend_spool_backlog_files')) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
}

const median = (xs: number[]) => {
  const v = [...xs].sort((a, b) => a - b);
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

const tmp = mkdtempSync(join(tmpdir(), 'tagspend-bench-ship-'));
const children: ChildProcess[] = [];
const s3 = await startS3Server();
try {
  const mockChild = spawn(process.execPath, ['bin/tagspend.js', 'mock-upstream', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(mockChild);
  let mockUrl = '';
  for await (const l of createInterface({ input: mockChild.stdout! })) {
    const m = /listening on (\S+)/.exec(l);
    if (m) {
      mockUrl = m[1]!;
      break;
    }
  }
  const common = {
    ...faultTestEnv({ s3Endpoint: s3.endpoint, bucket: s3.bucket, prefix: 'bench', upstreamUrl: mockUrl }),
    TAGSPEND_KEYS: JSON.stringify([{ key: KEY, alias: 'bench', tags: ['key:bench'] }]),
    TAGSPEND_SPEND_LOG__SHIP_RETRY_MAX_SECONDS: '30',
    TAGSPEND_LOG_LEVEL: 'warn',
  };
  const logging = await spawnCliProxy({ dataDir: join(tmp, 'logging'), env: { ...common, TAGSPEND_SPEND_LOG__SEGMENT_MAX_AGE_SECONDS: '3600', TAGSPEND_SPEND_LOG__SEGMENT_MAX_BYTES: String(8 * 1024 ** 3) } });
  const shipping = await spawnCliProxy({ dataDir: join(tmp, 'shipping'), env: { ...common, TAGSPEND_SPEND_LOG__SEGMENT_MAX_AGE_SECONDS: String(ROTATE_SECONDS) } });
  children.push(logging.child, shipping.child);

  console.log(`non-streamed chat completions, ${CONNECTIONS} connections, ${DURATION} s per run, ${ROUNDS} x (A B B A)`);
  const a: Figures[] = [];
  const b: Figures[] = [];
  for (const which of Array.from({ length: ROUNDS }, () => ['A', 'B', 'B', 'A']).flat()) {
    if (which === 'A') {
      const f = await measure(logging);
      a.push(f);
      console.log(line('A logging only (local segment)', f));
    } else {
      const f = await measure(shipping);
      b.push(f);
      console.log(line(`B rotate every ${ROTATE_SECONDS} s + ship to S3`, f));
      await settle(shipping);
    }
  }
  const ra = mean(a.map((f) => f.rps));
  const rb = mean(b.map((f) => f.rps));
  console.log('');
  const mb = median(b.map((f) => f.rps));
  const ma = median(a.map((f) => f.rps));
  console.log(`B / A throughput: ${((mb / ma) * 100).toFixed(1)}% by medians (${mb.toFixed(0)} vs ${ma.toFixed(0)} req/s), ${((rb / ra) * 100).toFixed(1)}% by means; target >= 95%`);
  const ca = median(a.map((f) => f.cpuPerRequest));
  const cb = median(b.map((f) => f.cpuPerRequest));
  console.log(`proxy CPU per request (medians; steadier than req/s on a shared machine): B ${cb.toFixed(0)} µs, A ${ca.toFixed(0)} µs (${(((cb - ca) / ca) * 100).toFixed(1)}%)`);
  const probe = await shippingCost(join(tmp, 'logging', 'spool'), join(tmp, 'probe'), s3.endpoint, s3.bucket);
  if (probe) {
    console.log(
      `shipping work measured alone: ${probe.microsPerRecord.toFixed(2)} µs CPU per record (${probe.records} real records, ` +
        `${(probe.bytes / 1024 ** 2).toFixed(1)} MiB -> ${(probe.gzipBytes / 1024 ** 2).toFixed(2)} MiB gzip, ${probe.wallMs.toFixed(0)} ms), ` +
        `${((probe.microsPerRecord / ca) * 100).toFixed(1)}% of the logging-only proxy's CPU per request`,
    );
  }
  console.log(`after the runs: shipping proxy backlog ${await metric(shipping.url, 'tagspend_spool_backlog_files')} files, ${await metric(shipping.url, 'tagspend_ship_failures_total')} failed uploads`);
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null ? once(c, 'exit') : null)));
  await s3.close();
  rmSync(tmp, { recursive: true, force: true });
}

/**
 * The CPU the shipper spends per record, measured in this process on a copy of the segment the
 * logging-only proxy wrote during the runs (real records): steadier than comparing throughput
 * on a machine shared with other work.
 */
async function shippingCost(spool: string, dir: string, endpoint: string, bucket: string) {
  const active = readdirSync(spool).find((n) => n.endsWith('.ndjson.active'));
  if (!active) return null;
  mkdirSync(join(dir, 'spool'), { recursive: true });
  const copy = join(dir, 'spool', active.replace(/\.active$/, ''));
  copyFileSync(join(spool, active), copy);
  const text = readFileSync(copy, 'utf8');
  const records = text.length - text.replaceAll('\n', '').length;
  const store = new S3Store(`s3://${bucket}/probe`, s3TestOptions(endpoint));
  const shipper = new Shipper({ store, logger: silentLogger, shippedDir: null, backlogWarnBytes: 1 << 30 });
  let gzipBytes = 0;
  shipper.on('shipped', (seg) => (gzipBytes += seg.gzipBytes));
  const bytes = statSync(copy).size;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  shipper.enqueueSpool(join(dir, 'spool'));
  const ok = await shipper.drain(60_000);
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await store.close();
  if (!ok) throw new Error('the probe segment did not ship');
  return { records, bytes, gzipBytes, wallMs, microsPerRecord: (cpu.user + cpu.system) / records };
}
