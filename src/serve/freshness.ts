// How fresh the figures are, shown on every page: the last successful reconcile (from the jobs'
// status file, which also records failures), when the open snapshot was published and the
// newest record it holds (read once per snapshot: a snapshot never changes).
import { readFileSync, statSync } from 'node:fs';
import { parseStatus, type JobsStatus } from '../../jobs/run/status-file.ts';
import type { SnapshotMeta } from './snapshot.ts';

export interface Freshness {
  last_reconcile_success: string | null;
  last_reconcile_failed: boolean;
  last_reconcile_error: string | null;
  snapshot_published_at: string | null;
  newest_record_at: string | null;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function freshness(meta: SnapshotMeta, status: JobsStatus): Freshness {
  const reconcile = status.reconcile;
  return {
    last_reconcile_success: reconcile?.last_success_at ?? null,
    last_reconcile_failed: reconcile?.last_run.status === 'failed',
    last_reconcile_error: reconcile?.last_run.status === 'failed' ? (reconcile.last_run.error ?? null) : null,
    snapshot_published_at: iso(meta.publishedMs),
    newest_record_at: iso(meta.newestRecordMs),
  };
}

/**
 * The jobs' status file, as of this request: a failed run rewrites it without publishing a
 * snapshot. Stat'ed on every read and parsed again only when it was replaced (the runner renames
 * a new file over it). Synchronous on purpose: a few microseconds on a small local file, where
 * the asynchronous calls would queue in libuv's thread pool behind the DuckDB queries.
 */
export class StatusFile {
  private seen: string | null = null;
  private status: JobsStatus = {};

  constructor(readonly path: string) {}

  read(): JobsStatus {
    let version = 'missing';
    let text: string | null = null;
    try {
      const s = statSync(this.path, { bigint: true, throwIfNoEntry: false });
      if (s !== undefined) {
        version = `${s.ino}-${s.mtimeNs}-${s.size}`;
        if (version !== this.seen) text = readFileSync(this.path, 'utf8');
      }
    } catch {
      version = 'unreadable';
    }
    if (version !== this.seen) {
      this.status = text === null ? {} : parseStatus(text);
      this.seen = version;
    }
    return this.status;
  }
}
