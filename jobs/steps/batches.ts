// How the ingest groups pending objects into batches (one transaction each), in key order.
import type { ObjectInfo } from '../../src/store/types.ts';

const bytesOf = (objects: readonly ObjectInfo[]): number => objects.reduce((sum, o) => sum + o.size, 0);

/** Fills batches in key order up to the count and byte limits (an object over the byte limit goes alone). */
function fillBatches(objects: readonly ObjectInfo[], maxObjects: number, maxBytes: number): ObjectInfo[][] {
  const batches: ObjectInfo[][] = [];
  let current: ObjectInfo[] = [];
  let bytes = 0;
  for (const o of objects) {
    if (current.length > 0 && (current.length >= maxObjects || bytes + o.size > maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(o);
    bytes += o.size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** `count` batches filled evenly by bytes (the smallest byte cap that needs no more batches). */
function evenByBytes(objects: readonly ObjectInfo[], maxObjects: number, maxBytes: number, count: number): ObjectInfo[][] {
  const largest = objects.reduce((max, o) => Math.max(max, o.size), 0);
  // A lower cap never needs fewer batches.
  let lo = Math.max(Math.ceil(bytesOf(objects) / count), largest);
  let hi = maxBytes;
  if (lo >= hi) return fillBatches(objects, maxObjects, maxBytes);
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (fillBatches(objects, maxObjects, mid).length <= count) hi = mid;
    else lo = mid + 1;
  }
  return fillBatches(objects, maxObjects, lo);
}

/**
 * `count` batches whose object counts are multiples of `threads` (but the last, when the total
 * is not), as even as that allows; null when such batches would break a limit.
 */
function evenByThreads(objects: readonly ObjectInfo[], maxObjects: number, maxBytes: number, count: number, threads: number): ObjectInfo[][] | null {
  const units = Math.ceil(objects.length / threads);
  if (units < count) return null;
  const batches: ObjectInfo[][] = [];
  for (let b = 0, at = 0; b < count; b++) {
    const size = (Math.floor(units / count) + (b < units % count ? 1 : 0)) * threads;
    const batch = objects.slice(at, at + size);
    at += size;
    if (batch.length > maxObjects || (batch.length > 1 && bytesOf(batch) > maxBytes)) return null;
    batches.push(batch);
  }
  return batches;
}

/**
 * Groups objects (kept in key order) into as few batches as the count and compressed-byte limits
 * allow, filled evenly rather than leaving a small last batch: DuckDB writes a large INSERT's
 * rows compressed as it goes, but keeps a small one (under about a million rows, measured) for
 * the next CHECKPOINT to compress, which cost ~1.4 s for a 500k-row tail batch at 5M records.
 *
 * With several DuckDB threads, each batch's object count is a multiple of them where the limits
 * allow (with up to half again as many batches): a gzip object is decompressed by one thread at
 * a time, and a batch whose last object is left to one thread while the others wait took 20%
 * longer and 15% more CPU (5M records, 2 threads: batches of 5 objects 14.0 s, of 6-6-4-4 or
 * 4-4-4-4-4 objects 12.0 s).
 */
export function planBatches(objects: readonly ObjectInfo[], maxObjects: number, maxBytes: number, threads = 1): ObjectInfo[][] {
  const fewest = fillBatches(objects, maxObjects, maxBytes);
  if (fewest.length <= 1) return fewest;
  if (threads > 1) {
    for (let count = fewest.length; count <= Math.ceil(fewest.length * 1.5); count++) {
      const planned = evenByThreads(objects, maxObjects, maxBytes, count, threads);
      if (planned !== null) return planned;
    }
  }
  return evenByBytes(objects, maxObjects, maxBytes, fewest.length);
}
