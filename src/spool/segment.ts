// Segment file names: the one place that knows how a segment's identity maps to a local
// file name and to its object key in the store.
//
//   active (being written):  <spool>/<instance>-<start>-<seq>.ndjson.active
//   closed (ready to ship):  <spool>/<instance>-<start>-<seq>.ndjson
//   object key:              spend/dt=YYYY-MM-DD/hour=HH/<instance>-<start>-<seq>.ndjson.gz
//
// <start> is the segment's first-record time in compact UTC with milliseconds
// (20261127T205301123Z); <seq> counts segments within one process. Instance ids contain no
// '-', so the name splits unambiguously.

export const ACTIVE_SUFFIX = '.ndjson.active';
export const CLOSED_SUFFIX = '.ndjson';

export interface SegmentId {
  instance: string;
  /** Segment start, epoch milliseconds. */
  startMs: number;
  seq: number;
}

export function compactUtc(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace('.', '');
}

function parseCompactUtc(s: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z$/.exec(s);
  if (!m) return null;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, +m[7]!);
  return Number.isNaN(ms) ? null : ms;
}

export function segmentBaseName(id: SegmentId): string {
  return `${id.instance}-${compactUtc(id.startMs)}-${String(id.seq).padStart(6, '0')}`;
}

/** Parses `<instance>-<start>-<seq>` followed by any suffix; null for foreign files. */
export function parseSegmentName(fileName: string): SegmentId | null {
  const m = /^([A-Za-z0-9_.]+)-(\d{8}T\d{9}Z)-(\d{6,})(?:\.|$)/.exec(fileName);
  if (!m) return null;
  const startMs = parseCompactUtc(m[2]!);
  if (startMs === null) return null;
  return { instance: m[1]!, startMs, seq: Number(m[3]) };
}

export function segmentObjectKey(id: SegmentId): string {
  const iso = new Date(id.startMs).toISOString();
  return `spend/dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}/${segmentBaseName(id)}.ndjson.gz`;
}
