// `npm run bench:serve`: the read side under load. Builds (once, cached) a snapshot of
// BENCH_RECORDS (default 5,000,000) records with the jobs benchmark's generator (a week of
// realistic spend, bench/jobs.ts), starts `tagspend serve` on it, and has BENCH_USERS (default 10)
// concurrent users ask for each target over a 30-day range, BENCH_SECONDS (default 10) per
// target: the overview page, the breakdown page, GET /api/report and the requests page (goal:
// p99 < 300 ms with 10 users), and the heavy ones, measured with BENCH_USERS=1 (goal: p99 under
// 1 s, LiteLLM's under 300 ms where the answer is small): a drill-down (`drill-down`), the report
// and breakdown page by user (50,000 rows: `report-by-user`, `breakdown-by-user`) and LiteLLM's
// `spend-tags`, `spend-report-team`, `spend-report-customer`, `spend-report-api_key`,
// `tag-daily-activity`. Prints p50/p99 latency per target twice: `cold`, every request a distinct
// URL (a nonce parameter), so each one is computed from the snapshot; and `repeat`, the same URL,
// answered from serve's per-snapshot cache. BENCH_ROUNDS (default 3) rounds of every target, then
// the median and the range over the rounds (the machine is shared: single rounds vary). The load
// generator runs in serve's process, as a browser's requests would not: its own work (undici) is
// counted in the latencies. BENCH_CACHE as in bench:jobs; BENCH_TARGETS=overview,drill-down picks
// targets by name, BENCH_MODES=cold the mode.
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.ts';
import { SCHEMA_VERSION } from '../src/db/migrate.ts';
import { createLogger } from '../src/log.ts';
import { startServe } from '../src/serve/server.ts';
import { runJob } from '../jobs/run/runner.ts';
import { jobSettings } from '../jobs/run/settings.ts';
import { LocalStore } from '../src/store/local.ts';
import { objectsInto, BENCH_END, BENCH_RECORDS } from './jobs.ts';

const USERS = Number(process.env.BENCH_USERS ?? 10);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ONLY = process.env.BENCH_TARGETS?.split(',').map((t) => t.trim());
const MODES = (process.env.BENCH_MODES ?? 'cold,repeat').split(',').map((m) => m.trim());
const CACHE = process.env.BENCH_CACHE ?? join(tmpdir(), 'tagspend-bench-jobs-cache');
const KEY = 'sk-bench-viewer-0123456789';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** A snapshot of the generated records, built by a real reconcile once and kept in the cache. */
async function snapshotFile(dir: string): Promise<string> {
  // Keyed by the schema too: a snapshot of an older schema lacks the columns today's queries read.
  const cached = join(CACHE, `serve-snapshot-${BENCH_RECORDS}-schema${SCHEMA_VERSION}.duckdb`);
  if (CACHE !== 'off' && existsSync(cached)) return cached;
  const store = new LocalStore(join(dir, 'store'));
  await objectsInto(store.root, dir);
  const settings = jobSettings(loadConfig({ env: {}, overrides: { data_dir: dir, store: { url: store.url } } }));
  const run = await runJob({ job: 'reconcile', trigger: 'cli', full: true }, { settings, store, log: createLogger('warn'), now: () => new Date(BENCH_END + 3_600_000) });
  if (run.status !== 'success') throw new Error(`reconcile failed: ${run.error}`);
  await store.close();
  if (CACHE === 'off') return settings.snapshotFile;
  await mkdir(CACHE, { recursive: true });
  await copyFile(settings.snapshotFile, cached);
  return cached;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tagspend-bench-serve-'));
  try {
    const t0 = performance.now();
    const snapshot = await snapshotFile(dir);
    console.log(`snapshot  ${BENCH_RECORDS.toLocaleString('en-US')} records, ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const resolved = loadConfig({
      env: {},
      overrides: { data_dir: dir, jobs: { snapshot_file: snapshot }, keys: [{ key: KEY, alias: 'bench', viewer: true }], serve: { port: 0, host: '127.0.0.1' } },
    });
    const today = new Date(BENCH_END - 1).toISOString().slice(0, 10);
    const from = new Date(BENCH_END - 30 * 86_400_000).toISOString().slice(0, 10);
    const serve = await startServe(resolved, { logger: createLogger('warn'), clock: () => BENCH_END - 1 });
    const litellm = `start_date=${from}&end_date=${today}`;
    const targets: [string, string][] = [
      ['overview', `/?key=team`],
      ['breakdown', `/breakdown?by=tag:team&from=${from}&to=${today}`],
      ['/api/report', `/api/report?by=tag:app&from=${from}&to=${today}`],
      ['requests', `/requests?to=${today}`],
      // The heavy ones: a drill-down (spend_logs), reports with 50,000 rows, LiteLLM's endpoints.
      ['drill-down', `/api/report?by=tag:app&from=${from}&to=${today}&f=tag:team=team1`],
      ['report-by-user', `/api/report?by=user&from=${from}&to=${today}`],
      ['breakdown-by-user', `/breakdown?by=user&from=${from}&to=${today}`],
      ['spend-tags', `/spend/tags?${litellm}`],
      ['spend-report-team', `/global/spend/report?${litellm}&group_by=team`],
      ['spend-report-customer', `/global/spend/report?${litellm}&group_by=customer`],
      ['spend-report-api_key', `/global/spend/report?${litellm}&group_by=api_key`],
      ['tag-daily-activity', `/tag/daily/activity?${litellm}`],
      ['hygiene', `/api/hygiene?from=${from}&to=${today}`],
    ].filter(([name]) => ONLY === undefined || ONLY.includes(name!)) as [string, string][];
    const runs = targets.flatMap(([n, p]) => [[`${n} cold`, p, true], [`${n} repeat`, p, false]] as const).filter(([, , cold]) => MODES.includes(cold ? 'cold' : 'repeat'));
    const results = new Map<string, { p50: number; p99: number }[]>();
    const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');
    console.log(`load average ${load()} (1, 5, 15 min) before the first round`);
    try {
      let nonce = 0;
      for (let round = 1; round <= ROUNDS; round++) {
        for (const [name, path, cold] of runs) {
          const warm = await fetch(`${serve.url}${path}`, { headers: { authorization: `Bearer ${KEY}` } });
          if (warm.status !== 200) throw new Error(`${path}: HTTP ${warm.status} ${await warm.text()}`);
          await warm.arrayBuffer();
          const latencies: number[] = [];
          const deadline = performance.now() + SECONDS * 1000;
          await Promise.all(
            Array.from({ length: USERS }, async () => {
              while (performance.now() < deadline) {
                const start = performance.now();
                const url = `${serve.url}${path}${cold ? `&nonce=${(nonce += 1)}` : ''}`;
                const res = await fetch(url, { headers: { authorization: `Bearer ${KEY}` } });
                await res.arrayBuffer();
                if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status}`);
                latencies.push(performance.now() - start);
              }
            }),
          );
          latencies.sort((a, b) => a - b);
          const r = { p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
          results.set(name, [...(results.get(name) ?? []), r]);
          console.log(`round ${round}  ${name.padEnd(29)} ${String(latencies.length).padStart(6)} requests  p50 ${r.p50.toFixed(1).padStart(7)} ms  p99 ${r.p99.toFixed(1).padStart(7)} ms`);
        }
      }
      console.log(`load average ${load()} after the last round`);
      console.log(`median [range] over ${ROUNDS} round(s), ${USERS} user(s), ${SECONDS} s each:`);
      const fmt = (v: number[]): string => {
        const sorted = [...v].sort((a, b) => a - b);
        return `${percentile(sorted, 50).toFixed(1).padStart(7)} ms [${sorted[0]!.toFixed(0)}-${sorted.at(-1)!.toFixed(0)}]`;
      };
      for (const [name, rs] of results) console.log(`${name.padEnd(29)} p50 ${fmt(rs.map((r) => r.p50))}  p99 ${fmt(rs.map((r) => r.p99))}`);
    } finally {
      await serve.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
