// Every file and directory under data_dir, derived in one place. Job paths may be configured
// (`jobs.db_file` ...); a relative one resolves against data_dir.
import { isAbsolute, join, resolve } from 'node:path';
import type { Config } from './schema.ts';

export interface DataPaths {
  readonly dataDir: string;
  /** The proxy's record segments, active and waiting to ship. */
  readonly spool: string;
  /** Shipped segments, kept only with `spend_log.keep_shipped`. */
  readonly shipped: string;
  /** The last good block-list, so a restart during a store outage keeps enforcing. */
  readonly blockList: string;
  /** The embedded default object store (`store.url` unset). */
  readonly localStore: string;
  /** The DuckDB file the jobs write. */
  readonly dbFile: string;
  /** The read-only copy published after each job run. */
  readonly snapshotFile: string;
  /** Scratch space for downloaded objects, beside the DuckDB file. */
  readonly workDir: string;
  readonly reportDir: string;
  /** How the last job runs ended (JSON); a .prom file beside it. */
  readonly statusFile: string;
  /** The last good price data loaded by pricing.refresh, used when the source is down at start. */
  readonly priceData: string;
}

function under(dataDir: string, file: string | undefined, fallback: string): string {
  if (file === undefined) return join(dataDir, fallback);
  return isAbsolute(file) ? file : resolve(dataDir, file);
}

export function dataPaths(dataDir: string, jobs: Pick<Config['jobs'], 'db_file' | 'snapshot_file' | 'report_dir' | 'status_file'>): DataPaths {
  const dbFile = under(dataDir, jobs.db_file, 'tagspend.duckdb');
  return Object.freeze({
    dataDir,
    spool: join(dataDir, 'spool'),
    shipped: join(dataDir, 'shipped'),
    blockList: join(dataDir, 'blocklist.json'),
    localStore: join(dataDir, 'store'),
    dbFile,
    snapshotFile: under(dataDir, jobs.snapshot_file, 'tagspend-snapshot.duckdb'),
    workDir: `${dbFile}.work`,
    reportDir: under(dataDir, jobs.report_dir, 'reports'),
    statusFile: under(dataDir, jobs.status_file, 'jobs-status.json'),
    priceData: join(dataDir, 'price-data.json'),
  });
}
