// The spend-record writer: appends one NDJSON line per request to the active segment file
// through pino's synchronous destination (SonicBoom). Every write is a write(2) of a whole
// line before the response ends, so a `kill -9` loses nothing that was answered: the bytes
// are in the kernel's page cache. Segments are closed by size or age (or on demand) and
// handed over through the 'segment' event; shipping never blocks writing. pino is the record
// writer by contract (issue #2, DESIGN.md): keep it, even though a bare writeSync is ~1.5% cheaper.
import { EventEmitter } from 'node:events';
import { closeSync, fsync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, statSync, unlinkSync, readSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import type { Logger } from '../log.ts';
import { serializeRecord, type SpendRecord } from '../spend/record.ts';
import { ACTIVE_SUFFIX, CLOSED_SUFFIX, parseSegmentName, segmentBaseName, type SegmentId } from './segment.ts';

type Destination = ReturnType<typeof pino.destination>;

export interface ClosedSegment extends SegmentId {
  /** Path of the closed `.ndjson` file in the spool directory. */
  path: string;
  bytes: number;
  records: number;
}

export interface SpendWriterOptions {
  spoolDir: string;
  instance: string;
  maxBytes: number;
  maxAgeMs: number;
  clock?: () => number;
  logger: Logger;
}

interface Active extends SegmentId {
  path: string;
  fd: number;
  dest: Destination;
  bytes: number;
  records: number;
}

export interface SpendWriterEvents {
  segment: [ClosedSegment];
}

export class SpendWriter extends EventEmitter<SpendWriterEvents> {
  readonly spoolDir: string;
  readonly instance: string;
  private readonly maxBytes: number;
  private readonly maxAgeMs: number;
  private readonly clock: () => number;
  private readonly log: Logger;
  private active: Active | null = null;
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Records written since start (all segments). */
  recordsWritten = 0;
  /** Rotated segments whose fsync is still running (see rotate()). */
  pendingSyncs = 0;

  constructor(options: SpendWriterOptions) {
    super();
    this.spoolDir = options.spoolDir;
    this.instance = options.instance;
    this.maxBytes = options.maxBytes;
    this.maxAgeMs = options.maxAgeMs;
    this.clock = options.clock ?? Date.now;
    this.log = options.logger;
    mkdirSync(this.spoolDir, { recursive: true });
    // Age-based rotation is checked on a timer so an idle proxy still closes its segment.
    const tick = Math.max(50, Math.min(1000, Math.floor(this.maxAgeMs / 4)));
    this.timer = setInterval(() => this.rotateIfDue(), tick);
    this.timer.unref();
  }

  write(record: SpendRecord): void {
    if (this.closed) throw new Error('spend writer is closed');
    const line = serializeRecord(record);
    const seg = this.active ?? this.openSegment();
    seg.dest.write(line);
    seg.bytes += Buffer.byteLength(line);
    seg.records += 1;
    this.recordsWritten += 1;
    if (seg.bytes >= this.maxBytes) this.rotate();
  }

  /** Closes the active segment if it is older than the age limit. */
  rotateIfDue(): void {
    const seg = this.active;
    if (seg && this.clock() - seg.startMs >= this.maxAgeMs) this.rotate();
  }

  /**
   * Closes the active segment (if it has records) and emits it; returns it too. Its bytes are
   * all written (in the page cache, readable by the shipper) when this returns; the fsync that
   * puts them on disk runs on libuv's thread pool, because a 64 MiB segment takes tens of
   * milliseconds to sync (more on network disks) and rotation happens inside a request's
   * write. Only close() syncs in place: at shutdown nothing waits on the event loop.
   */
  rotate(): ClosedSegment | null {
    return this.closeActive(false);
  }

  private closeActive(syncNow: boolean): ClosedSegment | null {
    const seg = this.active;
    if (!seg) return null;
    this.active = null;
    seg.dest.flushSync();
    const closedPath = seg.path.slice(0, -ACTIVE_SUFFIX.length) + CLOSED_SUFFIX;
    renameSync(seg.path, closedPath);
    if (syncNow) {
      fsyncSync(seg.fd);
      seg.dest.destroy();
    } else {
      this.pendingSyncs += 1;
      fsync(seg.fd, (err) => {
        if (err) this.log.warn({ err, segment: closedPath }, 'fsync of a closed segment failed; its bytes stay in the page cache');
        seg.dest.destroy();
        this.pendingSyncs -= 1;
      });
    }
    const closed: ClosedSegment = {
      instance: seg.instance,
      startMs: seg.startMs,
      seq: seg.seq,
      path: closedPath,
      bytes: seg.bytes,
      records: seg.records,
    };
    this.emit('segment', closed);
    return closed;
  }

  /** Closes the active segment and stops the writer. */
  close(): ClosedSegment | null {
    if (this.closed) return null;
    const last = this.closeActive(true);
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    return last;
  }

  get activeBytes(): number {
    return this.active?.bytes ?? 0;
  }

  private openSegment(): Active {
    const id: SegmentId = { instance: this.instance, startMs: this.clock(), seq: ++this.seq };
    const path = join(this.spoolDir, segmentBaseName(id) + ACTIVE_SUFFIX);
    // The file descriptor is ours (for fsync on close); SonicBoom closes it on destroy.
    const fd = openSync(path, 'a');
    const dest = pino.destination({ dest: fd, sync: true });
    this.active = { ...id, path, fd, dest, bytes: 0, records: 0 };
    return this.active;
  }
}

/**
 * Closes segments an earlier process left active (it crashed or was killed). A torn last
 * line (no trailing newline) is cut off, logged and counted; the rest of the file is kept.
 * Empty leftovers are removed. Call before the new writer starts, while holding the spool lock.
 */
export function recoverSpool(spoolDir: string, logger: Logger): { recovered: ClosedSegment[]; tornBytes: number } {
  mkdirSync(spoolDir, { recursive: true });
  const recovered: ClosedSegment[] = [];
  let tornBytes = 0;
  for (const name of readdirSync(spoolDir).sort()) {
    if (!name.endsWith(ACTIVE_SUFFIX)) continue;
    const id = parseSegmentName(name);
    const path = join(spoolDir, name);
    if (!id) {
      logger.warn({ file: path }, 'ignoring unrecognised file in spool directory');
      continue;
    }
    const keep = completeLength(path);
    const size = statSync(path).size;
    if (keep < size) {
      tornBytes += size - keep;
      logger.warn({ file: path, cut_bytes: size - keep }, 'cut torn last line from a segment left by a crash');
      const fd = openSync(path, 'r+');
      try {
        ftruncateSync(fd, keep);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    if (keep === 0) {
      unlinkSync(path);
      continue;
    }
    const closedPath = path.slice(0, -ACTIVE_SUFFIX.length) + CLOSED_SUFFIX;
    renameSync(path, closedPath);
    recovered.push({ ...id, path: closedPath, bytes: keep, records: -1 });
    logger.info({ file: closedPath, bytes: keep }, 'recovered segment left by an earlier process');
  }
  return { recovered, tornBytes };
}

/** Length of the file up to and including its last newline. */
function completeLength(path: string): number {
  const size = statSync(path).size;
  if (size === 0) return 0;
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.allocUnsafe(64 * 1024);
    let end = size;
    while (end > 0) {
      const start = Math.max(0, end - chunk.length);
      const n = readSync(fd, chunk, 0, end - start, start);
      const idx = chunk.subarray(0, n).lastIndexOf(0x0a);
      if (idx >= 0) return start + idx + 1;
      end = start;
    }
    return 0;
  } finally {
    closeSync(fd);
  }
}
