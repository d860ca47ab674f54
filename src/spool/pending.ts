// What is waiting in a spool directory to be shipped. A closed segment is `<base>.ndjson`; while
// it is being shipped a `<base>.ndjson.gz` sits beside it. After a crash either or both may be
// left: the `.ndjson` is the truth when present (its `.gz` may be partial and is rebuilt). A
// `.gz` alone should not occur (the shipper removes the `.gz` before the `.ndjson`); if one is
// found (copied in by an operator, say) it is read end to end before it ships.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CLOSED_SUFFIX, parseSegmentName, type SegmentId } from './segment.ts';
import type { ClosedSegment } from './writer.ts';

export const GZ_SUFFIX = `${CLOSED_SUFFIX}.gz`;

export interface PendingSegment {
  id: SegmentId;
  /** The closed segment; null when only its gzip is left. */
  ndjsonPath: string | null;
  /** Where its gzip is (or will be) written. */
  gzPath: string;
  /** Size on disk when queued (of the `.ndjson`, else of the `.gz`): the backlog measure. */
  bytes: number;
}

export function pendingFromClosed(segment: ClosedSegment): PendingSegment {
  const { instance, startMs, seq } = segment;
  return { id: { instance, startMs, seq }, ndjsonPath: segment.path, gzPath: segment.path + '.gz', bytes: segment.bytes };
}

/** Oldest first, so the store fills in time order. */
export function comparePending(a: PendingSegment, b: PendingSegment): number {
  return a.id.startMs - b.id.startMs || a.id.seq - b.id.seq || (a.id.instance < b.id.instance ? -1 : a.id.instance > b.id.instance ? 1 : 0);
}

/**
 * Closed (`.ndjson`) and compressed (`.ndjson.gz`) segments in the spool, oldest first. Active
 * segments are not included: recover them first (recoverSpool) so they become closed ones.
 */
export function scanSpool(spoolDir: string): PendingSegment[] {
  let names: string[];
  try {
    names = readdirSync(spoolDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const byBase = new Map<string, PendingSegment>();
  for (const name of names) {
    const suffix = name.endsWith(GZ_SUFFIX) ? GZ_SUFFIX : name.endsWith(CLOSED_SUFFIX) ? CLOSED_SUFFIX : null;
    if (!suffix) continue;
    const id = parseSegmentName(name);
    if (!id) continue;
    const base = name.slice(0, -suffix.length);
    const path = join(spoolDir, name);
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      continue; // shipped and removed while we looked
    }
    const entry = byBase.get(base) ?? { id, ndjsonPath: null, gzPath: join(spoolDir, base + GZ_SUFFIX), bytes: size };
    if (suffix === CLOSED_SUFFIX) {
      entry.ndjsonPath = path;
      entry.bytes = size;
    }
    byBase.set(base, entry);
  }
  return [...byBase.values()].sort(comparePending);
}
