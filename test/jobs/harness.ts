// A job environment in a temp directory: a local store, the jobs' settings from a real config,
// and contexts on a real DuckDB file. Everything is removed by cleanup().
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import { openWriter, type Db } from '../../src/db/open.ts';
import { selectRows, type Json } from '../../src/db/rows.ts';
import { prepareWriter } from '../../src/db/migrate.ts';
import { silentLogger } from '../../src/log.ts';
import { LocalStore } from '../../src/store/local.ts';
import type { JobContext } from '../../jobs/run/context.ts';
import { silentProgress } from '../../jobs/run/progress.ts';
import { jobSettings, type JobSettings } from '../../jobs/run/settings.ts';

export interface Harness {
  dir: string;
  store: LocalStore;
  /** Replaceable, e.g. to point a second harness at the first one's DuckDB file. */
  settings: JobSettings;
  /** A context on a freshly opened writer; close it with ctx.db.close(). */
  context(now?: Date, runId?: number): Promise<JobContext>;
  /** Rows of a query on the DuckDB file (opened and closed around it). */
  rows(text: string): Promise<Record<string, Json>[]>;
  cleanup(): Promise<void>;
}

export async function createHarness(overrides: Record<string, unknown> = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'tagspend-jobs-'));
  const store = new LocalStore(join(dir, 'store'));
  const resolved = loadConfig({
    env: {},
    cwd: dir,
    overrides: { data_dir: dir, store: { url: store.url }, ...overrides, jobs: { threads: 2, ...(overrides.jobs as object) } },
  });
  const settings = jobSettings(resolved);
  const open: Db[] = [];
  const harness: Harness = {
    dir,
    store,
    settings,
    async context(now = new Date('2026-11-10T12:00:00Z'), runId = 1) {
      const db = await openWriter(harness.settings.dbFile, { memoryLimit: harness.settings.memoryLimit, threads: 2 });
      open.push(db);
      await prepareWriter(db.conn, db.path);
      return { db, store, settings: harness.settings, log: silentLogger, now: () => now, runId, progress: silentProgress };
    },
    async rows(text) {
      const db = await openWriter(harness.settings.dbFile, { threads: 2 });
      try {
        await prepareWriter(db.conn, db.path);
        return await selectRows(db.conn, text);
      } finally {
        db.close();
      }
    },
    async cleanup() {
      for (const db of open) db.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return harness;
}
