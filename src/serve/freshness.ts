// How fresh the figures are, shown on every page: the last successful reconcile (from the jobs'
// status file, which also records failures), when the open snapshot was published and the
// newest record it holds.
import type { DuckDBConnection } from '@duckdb/node-api';
import { selectOne } from '../db/rows.ts';
import { sql } from '../db/sql.ts';
import { readStatus } from '../../jobs/run/status-file.ts';

export interface Freshness {
  last_reconcile_success: string | null;
  last_reconcile_failed: boolean;
  last_reconcile_error: string | null;
  snapshot_published_at: string | null;
  newest_record_at: string | null;
}

const iso = (ms: unknown): string | null => (ms === null || ms === undefined ? null : new Date(Number(ms)).toISOString());

export async function readFreshness(conn: DuckDBConnection, statusFile: string): Promise<Freshness> {
  const status = await readStatus(statusFile);
  const reconcile = status.reconcile;
  const meta = await selectOne(conn, sql('serve/snapshot_meta'));
  return {
    last_reconcile_success: reconcile?.last_success_at ?? null,
    last_reconcile_failed: reconcile?.last_run.status === 'failed',
    last_reconcile_error: reconcile?.last_run.status === 'failed' ? (reconcile.last_run.error ?? null) : null,
    snapshot_published_at: iso(meta?.published_ms),
    newest_record_at: iso(meta?.newest_record_ms),
  };
}
