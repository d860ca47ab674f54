// A read side on a snapshot built by the real jobs from known records: two months of realistic
// spend (October and November 2026) with one team spelt two ways, one tag with a budget, and
// `tagspend serve` on port 0 with the master key, a viewer key and a model-only key. The clock is
// fixed inside November.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTagInput, TagRegistry } from '../../src/budget/tags.ts';
import { loadConfig, type ResolvedConfig } from '../../src/config/load.ts';
import { silentLogger } from '../../src/log.ts';
import { startServe, type RunningServe } from '../../src/serve/server.ts';
import type { SpendRecord } from '../../src/spend/record.ts';
import { LocalStore } from '../../src/store/local.ts';
import { runJob } from '../../jobs/run/runner.ts';
import { jobSettings } from '../../jobs/run/settings.ts';
import { makeRecords, putRecordObjects } from '../helpers/spend-fixtures.ts';

export const MASTER = 'sk-master-serve-0123456789';
export const VIEWER = 'sk-viewer-serve-0123456789';
export const APP_KEY = 'sk-app-serve-0123456789';
export const NOW = Date.parse('2026-11-25T12:00:00Z');
export const START = Date.parse('2026-10-01T00:00:00Z');

export interface Seeded {
  dir: string;
  resolved: ResolvedConfig;
  store: LocalStore;
  records: SpendRecord[];
  serve: RunningServe;
  /** GET with a key (default the viewer key); `null` sends none. */
  get(path: string, key?: string | null, headers?: Record<string, string>): Promise<Response>;
  json<T = any>(path: string): Promise<T>;
  /** Adds records and runs reconcile again (a new snapshot is published). */
  addAndReconcile(records: SpendRecord[]): Promise<void>;
  cleanup(): Promise<void>;
}

export async function seed(count = 3000): Promise<Seeded> {
  const dir = await mkdtemp(join(tmpdir(), 'tagspend-serve-'));
  const store = new LocalStore(join(dir, 'store'));
  const resolved = loadConfig({
    env: {},
    cwd: dir,
    overrides: {
      data_dir: dir,
      store: { url: store.url },
      master_key: MASTER,
      keys: [
        { key: VIEWER, alias: 'finance', viewer: true },
        { key: APP_KEY, alias: 'app' },
      ],
      jobs: { threads: 2 },
      serve: { host: '127.0.0.1', port: 0, connections: 3 },
    },
  });
  const settings = jobSettings(resolved);
  // 56 days from 2026-10-01: October and most of November.
  const records = makeRecords(count, 1313, START, (56 * 86_400_000) / count);
  // One team spelt two ways in November, for the hygiene report: team:Search beside team:search.
  const spelt = makeRecords(40, 2727, Date.parse('2026-11-10T00:00:00Z'), 3_600_000).map((r, i) => ({
    ...r,
    request_id: `spelt-${r.request_id}`,
    tags: [i % 7 === 0 ? 'team:Search' : 'team:search', ...r.tags.filter((t) => !t.startsWith('team:'))],
  }));
  records.push(...spelt);
  await putRecordObjects(store, records, 500);
  await new TagRegistry(store).create(parseTagInput({ name: 'team:team1', max_budget: 5, budget_duration: '1mo' }), NOW - 86_400_000);
  const deps = { settings, store, log: silentLogger, now: () => new Date(NOW) };
  const run = await runJob({ job: 'reconcile', trigger: 'cli', full: true }, deps);
  if (run.status !== 'success') throw new Error(`reconcile failed: ${run.error}`);
  const serve = await startServe(resolved, { logger: silentLogger, clock: () => NOW });
  let added = 0;
  const seeded: Seeded = {
    dir,
    resolved,
    store,
    records,
    serve,
    get(path, key = VIEWER, headers = {}) {
      return fetch(`${serve.url}${path}`, { headers: { ...(key === null ? {} : { authorization: `Bearer ${key}` }), ...headers }, redirect: 'manual' });
    },
    async json(path) {
      const res = await seeded.get(path);
      const text = await res.text();
      if (res.status !== 200) throw new Error(`${path}: ${res.status} ${text}`);
      return JSON.parse(text);
    },
    async addAndReconcile(more) {
      added += 1;
      await putRecordObjects(store, more, 500, `extra${added}`);
      seeded.records.push(...more);
      const again = await runJob({ job: 'reconcile', trigger: 'cli', full: true }, deps);
      if (again.status !== 'success') throw new Error(`reconcile failed: ${again.error}`);
    },
    async cleanup() {
      await serve.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return seeded;
}
