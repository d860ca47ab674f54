// `npm run bench:jobs`: the reconciliation jobs on N realistic spend records.
//
// Generates BENCH_RECORDS (default 5,000,000) records over a week (tags from hundreds of apps
// and dozens of teams, ~50k users, metadata, a few multi-value tag keys, unknown prices) as
// BENCH_OBJECTS (default 20) gzip NDJSON objects in a local store under a temp directory, then
// times ONE reconcile run (open, ingest, re-price, rollup, budgets, snapshot publish: what the
// scheduler does when new objects arrive) step by step, then a reconcile run with nothing new.
// Prints records/s end to end, the no-op time and the peak RSS of this process (DuckDB runs
// inside it), and the CPU other processes took meanwhile with the load average (this machine is
// shared). BENCH_KEEP=1 keeps the directory.
// The floor: DuckDB's own `CREATE TABLE AS SELECT * FROM read_json(...)` of the same objects with
// the same column types (the session's typed record reader), in a fresh file with the same
// settings, timed once before and once after the reconcile run; the run is reported as a ratio
// to the floor (floor time / run time: 1.0 would be loading at DuckDB's own speed).
// Then the finance outputs on the loaded file: the Parquet export of every day (what reconcile
// does with jobs.export_parquet when every day is new), and the true-up of a 30-day bill (per UTC
// day x provider x model, 3% over the estimate for OpenAI, 3% under for the others, and days
// without records: the import, the allocation to 5M records, and the rollup of the changed days).
// Generated objects are cached under BENCH_CACHE (default <tmpdir>/tagspend-bench-jobs-cache),
// keyed by the generator's parameters, and hard-linked into each run's store (BENCH_CACHE=off:
// generate every time).
import { createWriteStream, readFileSync } from 'node:fs';
import { copyFile, link, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { once } from 'node:events';
import { createGzip, constants as zlib } from 'node:zlib';
import { loadConfig } from '../src/config/load.ts';
import { openReader, openWriter } from '../src/db/open.ts';
import { addDays } from '../src/report/calendar.ts';
import { parseBillFiles } from '../src/trueup/parse.ts';
import type { BillLine } from '../src/trueup/bill.ts';
import { quoteLiteralList, sql } from '../src/db/sql.ts';
import { createLogger } from '../src/log.ts';
import { LocalStore } from '../src/store/local.ts';
import { runJob, summaryLine, type RunSummary } from '../jobs/run/runner.ts';
import { jobSettings } from '../jobs/run/settings.ts';
import { makeRecord, objectKey, seededRandom, type RecordShape } from '../test/helpers/spend-fixtures.ts';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 5_000_000);
export const BENCH_RECORDS = RECORDS;
const OBJECTS = Number(process.env.BENCH_OBJECTS ?? 20);
const KEEP = process.env.BENCH_KEEP === '1';
// BENCH_FINANCE=0 stops after the reconcile runs and the floor (no Parquet export, no true-up).
const FINANCE = process.env.BENCH_FINANCE !== '0';
const CACHE = process.env.BENCH_CACHE ?? join(tmpdir(), 'tagspend-bench-jobs-cache');
// Bump when makeRecord or the layout of the generated objects changes.
const GENERATOR_VERSION = 1;
const SHAPE: RecordShape = { users: 50_000, apps: 200, teams: 40, projects: 300 };
const WEEK_MS = 7 * 86_400_000;
const END = Date.parse('2026-11-10T00:00:00Z');
export const BENCH_END = END;
const START = END - WEEK_MS;
const CHUNK_CHARS = 4 * 1024 * 1024;

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

/** CPU seconds every process on the machine has used (Linux /proc/stat; 0 elsewhere). */
function machineCpuSeconds(): number {
  try {
    const ticks = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system (idle iowait) irq softirq steal, in USER_HZ (100 on Linux)
    return (ticks[0]! + ticks[1]! + ticks[2]! + ticks[5]! + ticks[6]! + ticks[7]!) / 100;
  } catch {
    return 0;
  }
}

async function writeObject(path: string, from: number, count: number, rand: () => number): Promise<void> {
  const out = createWriteStream(path);
  const gzip = createGzip({ level: zlib.Z_BEST_SPEED });
  gzip.pipe(out);
  const step = WEEK_MS / RECORDS;
  let chunk = '';
  for (let i = 0; i < count; i++) {
    const r = makeRecord(from + i, rand, START, step, SHAPE);
    chunk += `${JSON.stringify(r)}\n`;
    if (chunk.length >= CHUNK_CHARS) {
      if (!gzip.write(chunk)) await once(gzip, 'drain');
      chunk = '';
    }
  }
  gzip.end(chunk);
  await once(out, 'finish');
}

async function generate(store: LocalStore, dir: string): Promise<number> {
  const rand = seededRandom(2026);
  const per = Math.ceil(RECORDS / OBJECTS);
  let bytes = 0;
  for (let o = 0, from = 0; from < RECORDS; o++, from += per) {
    const count = Math.min(per, RECORDS - from);
    const file = join(dir, `gen-${o}.ndjson.gz`);
    await writeObject(file, from, count, rand);
    const key = objectKey('bench1', START + Math.floor((from * WEEK_MS) / RECORDS), o);
    bytes += (await store.putFile(key, file)).size;
    await rm(file);
    process.stderr.write(`\rgenerated ${o + 1}/${OBJECTS} objects`);
  }
  process.stderr.write('\n');
  return bytes;
}

/** Hard-links (or copies, across devices) every file under `from` into `to`. */
async function linkTree(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const e of await readdir(from, { withFileTypes: true })) {
    const src = join(from, e.name);
    const dst = join(to, e.name);
    if (e.isDirectory()) await linkTree(src, dst);
    else await link(src, dst).catch(() => copyFile(src, dst));
  }
}

/** The objects in `storeDir`: from the cache when it has this generator's output, else generated. */
export async function objectsInto(storeDir: string, scratch: string): Promise<{ bytes: number; cached: boolean }> {
  if (CACHE === 'off') return { bytes: await generate(new LocalStore(storeDir), scratch), cached: false };
  const entry = join(CACHE, `v${GENERATOR_VERSION}-${RECORDS}-records-${OBJECTS}-objects`);
  const marker = join(entry, 'complete.json');
  const done = await readFile(marker, 'utf8').then((t) => JSON.parse(t) as { bytes: number }, () => null);
  if (done !== null) {
    await linkTree(join(entry, 'store'), storeDir);
    return { bytes: done.bytes, cached: true };
  }
  await rm(entry, { recursive: true, force: true });
  await mkdir(entry, { recursive: true });
  const bytes = await generate(new LocalStore(join(entry, 'store')), scratch);
  await writeFile(marker, JSON.stringify({ bytes }));
  await linkTree(join(entry, 'store'), storeDir);
  return { bytes, cached: false };
}

async function gzFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await gzFiles(path)));
    else if (e.name.endsWith('.ndjson.gz')) out.push(path);
  }
  return out.sort();
}

/** Seconds (wall, CPU) for DuckDB alone to load the objects into a new table of the same types. */
async function floorLoad(files: readonly string[], dir: string, memoryLimit: string, round: number): Promise<{ seconds: number; cpu: number; rows: number }> {
  const file = join(dir, `floor-${round}.duckdb`);
  const db = await openWriter(file, { memoryLimit });
  try {
    await db.conn.run(sql('ingest/create_record_readers'));
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    // Bench-only statement: the same reader the ingest uses, nothing else (no dedupe, no staging).
    await db.conn.run(`CREATE TABLE spend_floor AS SELECT * FROM read_spend_records(${quoteLiteralList(files)})`);
    await db.conn.run(sql('db/checkpoint'));
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const rows = Number((await db.conn.runAndReadAll('SELECT count(*) AS n FROM spend_floor')).getRowObjectsJson()[0]!.n);
    return { seconds, cpu: (cpu.user + cpu.system) / 1e6, rows };
  } finally {
    db.close();
    await rm(file, { force: true });
    await rm(`${file}.wal`, { force: true });
  }
}

/** Bytes of every file under `dir` (0 when it does not exist). */
async function treeSize(dir: string): Promise<number> {
  let total = 0;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) total += e.isDirectory() ? await treeSize(join(dir, e.name)) : (await stat(join(dir, e.name))).size;
  return total;
}

/** A 30-day bill ending on the last UTC day with records: per day x provider x model from the estimates. */
async function thirtyDayBill(snapshot: string): Promise<{ lines: BillLine[]; days: number }> {
  const db = await openReader(snapshot);
  let est: Record<string, unknown>[];
  try {
    est = (await db.conn.runAndReadAll(
      'SELECT ts::DATE::VARCHAR AS d, provider, upstream_model AS m, sum(cost_usd)::DOUBLE AS usd FROM spend_logs WHERE cost_usd > 0 GROUP BY ALL ORDER BY ALL',
    )).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    db.close();
  }
  const last = est.map((r) => String(r.d)).sort().at(-1)!;
  const csv = ['date,provider,model,description,amount_usd'];
  const withRecords = new Set(est.map((r) => String(r.d)));
  for (const r of est) csv.push(`${String(r.d)},${String(r.provider)},${String(r.m)},,${(Number(r.usd) * (r.provider === 'openai' ? 1.03 : 0.97)).toFixed(2)}`);
  for (let i = 0; i < 30; i++) {
    const day = addDays(last, -i);
    if (!withRecords.has(day)) csv.push(`${day},openai,,traffic that bypassed the gateway,12.34`);
  }
  const parsed = parseBillFiles('csv', [{ name: 'bench-bill.csv', text: `${csv.join('\n')}\n` }]);
  if (parsed.problems.length > 0) throw new Error(`bench bill: ${parsed.problems[0]!.reason}`);
  return { lines: parsed.lines, days: 30 };
}

function line(label: string, s: RunSummary): void {
  console.log(`${label.padEnd(9)} ${(s.durationMs / 1000).toFixed(2).padStart(7)} s  ${summaryLine(s)}`);
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tagspend-bench-jobs-'));
  try {
    const store = new LocalStore(join(dir, 'store'));
    const settings = jobSettings(loadConfig({ env: {}, overrides: { data_dir: dir, store: { url: store.url } } }));
    const log = createLogger(process.env.TAGSPEND_LOG_LEVEL ?? 'warn');
    const genStart = performance.now();
    const { bytes, cached } = await objectsInto(store.root, dir);
    const how = cached ? 'linked from the cache' : 'generated';
    console.log(`records  ${RECORDS.toLocaleString('en-US')} in ${OBJECTS} objects, ${mib(bytes)} gzip, ${how} in ${((performance.now() - genStart) / 1000).toFixed(1)} s`);

    const files = await gzFiles(store.root);
    const floorBefore = await floorLoad(files, dir, settings.memoryLimit, 1);
    const deps = { settings, store, log, now: () => new Date(END + 3_600_000) };
    const loadBefore = load();
    const machine0 = machineCpuSeconds();
    const cpu0 = process.cpuUsage();
    const first = await runJob({ job: 'reconcile', trigger: 'cli', full: true }, deps);
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    // What other processes took meanwhile: a run that had to share the two cores is slower.
    const othersSeconds = Math.max(0, machineCpuSeconds() - machine0 - cpuSeconds);
    line('reconcile', first);
    for (const [name, ms] of Object.entries(first.timings)) console.log(`  ${name.padEnd(9)} ${(ms / 1000).toFixed(2).padStart(7)} s`);
    const noop = await runJob({ job: 'reconcile', trigger: 'cli', full: true }, deps);
    line('no-op', noop);
    const floorAfter = await floorLoad(files, dir, settings.memoryLimit, 2);
    if (floorBefore.rows !== RECORDS || floorAfter.rows !== RECORDS) throw new Error(`floor loaded ${floorBefore.rows}/${floorAfter.rows} rows`);
    const floorSeconds = (floorBefore.seconds + floorAfter.seconds) / 2;

    const seconds = first.durationMs / 1000;
    const rss = process.resourceUsage().maxRSS * 1024;
    const dbSize = (await stat(settings.dbFile)).size;
    console.log('');
    console.log(`end to end (ingest + rollup + snapshot): ${seconds.toFixed(2)} s, ${Math.round(first.rows / seconds).toLocaleString('en-US')} records/s  (target >= 250,000)`);
    // CPU time varies less than wall time on a shared machine: it shows what the run cost.
    console.log(`CPU (all threads):                       ${cpuSeconds.toFixed(1)} s, ${((cpuSeconds * 1e6) / first.rows).toFixed(1)} µs per record, ${(cpuSeconds / seconds).toFixed(2)} cores busy`);
    console.log(`other processes meanwhile:               ${othersSeconds.toFixed(1)} s of CPU (${(othersSeconds / seconds).toFixed(2)} cores); load average ${loadBefore} before, ${load()} after`);
    console.log(
      `floor (DuckDB CTAS read_json):           ${floorBefore.seconds.toFixed(2)} s before, ${floorAfter.seconds.toFixed(2)} s after; ` +
        `CPU ${floorBefore.cpu.toFixed(1)} / ${floorAfter.cpu.toFixed(1)} s`,
    );
    console.log(`reconcile vs floor:                      ${(floorSeconds / seconds).toFixed(2)}x of DuckDB's own load speed  (target >= 0.8x)`);
    console.log(`no-op reconcile:                         ${(noop.durationMs / 1000).toFixed(3)} s  (target < 1 s)`);
    console.log(`peak RSS:                                ${mib(rss)}  (target < 2048 MiB)`);
    console.log(`DuckDB file:                             ${mib(dbSize)}`);
    const ingest = first;
    if (ingest.rows !== RECORDS || ingest.status !== 'success') {
      throw new Error(`expected ${RECORDS} rows loaded, got ${ingest.rows} (${ingest.status} ${ingest.error ?? ''})`);
    }

    if (FINANCE) {
      console.log('');
      const pqCpu0 = process.cpuUsage();
      const parquet = await runJob({ job: 'parquet', trigger: 'cli', full: true }, deps);
      const pqCpu = process.cpuUsage(pqCpu0);
      if (parquet.status !== 'success') throw new Error(`parquet export ${parquet.status}: ${parquet.error ?? ''}`);
      const pqSeconds = (parquet.timings.parquet ?? parquet.durationMs) / 1000;
      const pqBytes = await treeSize(join(store.root, 'parquet'));
      console.log(`parquet export (every day):              ${pqSeconds.toFixed(2)} s, ${Math.round(RECORDS / pqSeconds).toLocaleString('en-US')} records/s, ${mib(pqBytes)} in the store, CPU ${((pqCpu.user + pqCpu.system) / 1e6).toFixed(1)} s`);
      // maxRSS never goes down: the peak so far, so a step that raises it shows here.
      const peakSoFar = (): string => mib(process.resourceUsage().maxRSS * 1024);
      console.log(`peak RSS after the Parquet export:       ${peakSoFar()}`);
      const bill = await thirtyDayBill(settings.snapshotFile);
      const tuCpu0 = process.cpuUsage();
      const trueup = await runJob({ job: 'trueup', trigger: 'cli', bill: bill.lines }, deps);
      const tuCpu = process.cpuUsage(tuCpu0);
      if (trueup.status !== 'success') throw new Error(`true-up ${trueup.status}: ${trueup.error ?? ''}`);
      const t = (name: string): string => ((trueup.timings[name] ?? 0) / 1000).toFixed(2);
      console.log(
        `${`true-up (${bill.days}-day bill, ${bill.lines.length} lines):`.padEnd(41)}allocation ${t('trueup')} s over ${RECORDS.toLocaleString('en-US')} records; ` +
          `import ${t('bill-import')} s, rollup of the changed days ${t('rollup')} s, whole run ${(trueup.durationMs / 1000).toFixed(2)} s, CPU ${((tuCpu.user + tuCpu.system) / 1e6).toFixed(1)} s`,
      );
      console.log(`peak RSS after the true-up:              ${peakSoFar()}`);
    }
    await store.close();
  } finally {
    if (KEEP) console.log(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

// bench/serve.ts imports the generator; only a run of this file benchmarks the jobs.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
