// The spend-record writer: appends one NDJSON line per request to the active segment file
// through pino's synchronous destination (SonicBoom). Every write is a write(2) of a whole
// line before the response ends, so a `kill -9` loses nothing that was answered: the bytes
// are in the kernel's page cache. Segments are closed by size or age (or on demand) and
// handed over through the 'segment' event; shipping never blocks writing. pino is the record
// writer by contract (issue #2, DESIGN.md): keep it, even though a bare writeSync is ~1.5% cheaper.
//
// A write that fails (a full disk: ENOSPC, or EIO) leaves no torn line: the file is cut back to
// its last complete line, the destination (which would retry the failed bytes) is replaced, and
// the writer reports the problem (problem(), readiness) until a write succeeds again. The proxy
// then refuses new requests before calling the provider (507). Records that could not be written
// wait in memory (bounded) and are written when the disk recovers (docs/operations.md).
import { EventEmitter } from 'node:events';
import { closeSync, fsync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, statfsSync, statSync, unlinkSync, readSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { SpendLogUnavailableError } from '../errors.ts';
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
  /** Report a problem (and refuse new requests) while the spool's file system has less free space than this; 0: no check. */
  minFreeBytes?: number;
  /** Free bytes of the spool's file system; default statfs (tests inject). */
  freeBytes?: () => number;
  /** Records kept in memory after a failed write, written when the disk recovers; beyond this they are dropped and counted. */
  maxDeferred?: number;
}

interface Active extends SegmentId {
  path: string;
  fd: number;
  dest: Destination;
  bytes: number;
  records: number;
  /** Set by the destination's 'error' event (emitted inside write() in sync mode). */
  writeError: Error | null;
}

/** How often free space is checked and deferred records are retried. */
const HEALTH_CHECK_MS = 1000;

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
  /** Failed record writes since start. */
  writeFailures = 0;
  /** Records dropped because the in-memory backlog of unwritten ones was full (or at close). */
  droppedRecords = 0;
  private readonly minFreeBytes: number;
  private readonly freeBytes: () => number;
  private readonly maxDeferred: number;
  private healthTimer: NodeJS.Timeout | null = null;
  /** The last write failure, until a write succeeds again. */
  private failure: Error | null = null;
  /** Free bytes when below minFreeBytes at the last check; null when enough. */
  private lowSpace: number | null = null;
  /** Lines that could not be written yet. */
  private deferred: string[] = [];

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
    this.minFreeBytes = options.minFreeBytes ?? 0;
    this.maxDeferred = options.maxDeferred ?? 100_000;
    this.freeBytes = options.freeBytes ?? (() => {
      const s = statfsSync(this.spoolDir);
      return s.bavail * s.bsize;
    });
    this.checkHealth();
    this.healthTimer = setInterval(() => this.checkHealth(), HEALTH_CHECK_MS);
    this.healthTimer.unref();
  }

  /** Appends a record; throws SpendLogUnavailableError when it could not be written (nothing of it is left in the file). */
  write(record: SpendRecord): void {
    if (this.closed) throw new Error('spend writer is closed');
    this.append(serializeRecord(record));
  }

  /** Keeps a record that could not be written, to write it when the disk recovers (bounded). */
  defer(record: SpendRecord): void {
    if (this.deferred.length >= this.maxDeferred) {
      this.droppedRecords += 1;
      return;
    }
    this.deferred.push(serializeRecord(record));
  }

  /** Why records cannot be written now (full disk, failed writes); null when they can. */
  problem(): string | null {
    if (this.failure) {
      const code = (this.failure as NodeJS.ErrnoException).code;
      return `spend records cannot be written to ${this.spoolDir}: ${code ?? ''} ${this.failure.message}`.replace(/\s+/g, ' ');
    }
    if (this.lowSpace !== null) {
      return `the spool's file system has ${this.lowSpace} bytes free, below spend_log.min_free_bytes (${this.minFreeBytes})`;
    }
    return null;
  }

  get deferredRecords(): number {
    return this.deferred.length;
  }

  /** Free space, and a retry of deferred records (which also tells whether writing works again). */
  checkHealth(): void {
    if (this.closed) return;
    let free: number | null = null;
    try {
      free = this.freeBytes();
    } catch {
      // No statfs here (or it failed): only write failures tell.
    }
    const wasLow = this.lowSpace !== null;
    this.lowSpace = free !== null && free < this.minFreeBytes ? free : null;
    if (!wasLow && this.lowSpace !== null) this.log.error({ free_bytes: free, min_free_bytes: this.minFreeBytes, spool: this.spoolDir }, 'spool disk is nearly full; refusing new requests (507) until space is freed');
    if (wasLow && this.lowSpace === null) this.log.info({ free_bytes: free }, 'spool disk has space again');
    if (this.deferred.length > 0) {
      this.writeDeferred();
    } else if (this.failure && free !== null && free > Math.max(this.minFreeBytes, 1024 * 1024)) {
      // Nothing waits to prove it, but there is room again: the next write will tell.
      this.failure = null;
      this.log.info({ free_bytes: free }, 'spend records can be written again');
    }
  }

  /** Writes deferred records in order until one fails; true when none is left. */
  private writeDeferred(): boolean {
    while (this.deferred.length > 0) {
      try {
        this.append(this.deferred[0]!);
      } catch {
        return false;
      }
      this.deferred.shift();
    }
    return true;
  }

  private append(line: string): void {
    let seg: Active | null = this.active;
    try {
      seg ??= this.openSegment();
      seg.dest.write(line);
      if (seg.writeError) throw seg.writeError;
    } catch (err) {
      this.writeFailed(seg, err as Error);
    }
    seg = seg!;
    seg.bytes += Buffer.byteLength(line);
    seg.records += 1;
    this.recordsWritten += 1;
    if (this.failure) {
      this.failure = null;
      this.log.info({ spool: this.spoolDir }, 'spend records can be written again');
    }
    if (seg.bytes >= this.maxBytes) this.rotate();
  }

  /**
   * A write failed: cut the file back to its last complete line, replace the destination (it
   * holds the failed bytes and would write them first next time; its flushSync would retry an
   * ENOSPC forever), remember the failure, and throw.
   */
  private writeFailed(seg: Active | null, err: Error): never {
    this.writeFailures += 1;
    if (!this.failure) this.log.error({ err, spool: this.spoolDir }, 'spend record write failed; refusing new requests (507) until records can be written');
    this.failure = err;
    if (seg) {
      try {
        ftruncateSync(seg.fd, seg.bytes);
        const old = seg.dest;
        seg.fd = openSync(seg.path, 'a');
        seg.dest = this.destination(seg);
        seg.writeError = null;
        old.destroy(); // drops its buffer and closes the old descriptor
      } catch (inner) {
        // The segment cannot be repaired in place: drop it from use, it is complete up to seg.bytes.
        this.log.error({ err: inner, segment: seg.path }, 'could not repair the active segment after a failed write');
        this.abandonActive(seg);
      }
    }
    throw new SpendLogUnavailableError(`Spend records cannot be written (${(err as NodeJS.ErrnoException).code ?? err.message}); the request was not completed`, { cause: err });
  }

  private destination(seg: Active): Destination {
    const dest = pino.destination({ dest: seg.fd, sync: true });
    dest.on('error', (e: Error) => {
      seg.writeError = e;
    });
    return dest;
  }

  /** Stops using a segment that could not be repaired; it is renamed as closed and handed over. */
  private abandonActive(seg: Active): void {
    if (this.active !== seg) return;
    this.active = null;
    try {
      ftruncateSync(seg.fd, seg.bytes);
    } catch {
      // best effort: a torn last line is cut by recoverSpool at the next start
    }
    const closedPath = seg.path.slice(0, -ACTIVE_SUFFIX.length) + CLOSED_SUFFIX;
    try {
      renameSync(seg.path, closedPath);
      if (seg.records > 0) this.emit('segment', { instance: seg.instance, startMs: seg.startMs, seq: seg.seq, path: closedPath, bytes: seg.bytes, records: seg.records });
    } catch {
      // left as .active: recovered at the next start
    }
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
      try {
        fsyncSync(seg.fd);
      } catch (err) {
        this.log.warn({ err, segment: closedPath }, 'fsync of the last segment failed; its bytes stay in the page cache');
      }
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

  /** Closes the active segment and stops the writer (records still deferred get one last try). */
  close(): ClosedSegment | null {
    if (this.closed) return null;
    if (this.deferred.length > 0 && !this.writeDeferred()) {
      this.droppedRecords += this.deferred.length;
      this.log.error({ records: this.deferred.length, spool: this.spoolDir }, 'spend records that could not be written are lost at shutdown');
      this.deferred = [];
    }
    const last = this.closeActive(true);
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.healthTimer) clearInterval(this.healthTimer);
    this.timer = null;
    this.healthTimer = null;
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
    const seg = { ...id, path, fd, dest: null as unknown as Destination, bytes: 0, records: 0, writeError: null } as Active;
    seg.dest = this.destination(seg);
    this.active = seg;
    return seg;
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
