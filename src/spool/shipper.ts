// Moves closed spend segments from the local spool into the object store, one at a time and
// oldest first: gzip beside the segment, upload with its MD5 (the store checks the bytes), check
// the stored size, and only then delete the local copy (or keep it in `shipped/`). A failure
// is retried forever with jittered exponential backoff; nothing is ever dropped. The writer
// only enqueues, so a slow or absent store never delays a request.
import { EventEmitter } from 'node:events';
import { mkdirSync, renameSync, unlinkSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { StoreIntegrityError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { ObjectStore } from '../store/types.ts';
import { backoffDelay, DEFAULT_BACKOFF, realSleep, type BackoffPolicy, type Sleep } from './backoff.ts';
import { checkGzipFile, gzipFile, type GzipInfo } from './gzip.ts';
import { comparePending, pendingFromClosed, scanSpool, type PendingSegment } from './pending.ts';
import { segmentObjectKey } from './segment.ts';
import type { ClosedSegment } from './writer.ts';

/** The metric handles the shipper keeps current (ProxyMetrics has them all). */
export interface ShipperMetrics {
  spoolBacklogFiles: { set(value: number): void };
  spoolBacklogBytes: { set(value: number): void };
  spoolOldestAgeSeconds: { set(value: number): void };
  shipFailures: { inc(): void };
  segmentsShipped: { inc(): void };
}

export interface ShipperOptions {
  store: ObjectStore;
  logger: Logger;
  /** Where shipped segments go when they are kept; null deletes them. */
  shippedDir: string | null;
  /** Above this many backlog bytes: one warning, and readiness reports a problem. */
  backlogWarnBytes: number;
  metrics?: ShipperMetrics;
  backoff?: BackoffPolicy;
  clock?: () => number;
  sleep?: Sleep;
  random?: () => number;
}

export interface Backlog {
  files: number;
  bytes: number;
  /** Age of the oldest waiting segment's first record, ms; 0 when nothing waits. */
  oldestAgeMs: number;
}

export interface ShippedSegment {
  key: string;
  gzipBytes: number;
  /** Local bytes it stood for in the backlog. */
  bytes: number;
}

export interface ShipperEvents {
  shipped: [ShippedSegment];
  failure: [Error];
  idle: [];
}

export class Shipper extends EventEmitter<ShipperEvents> {
  private readonly store: ObjectStore;
  private readonly log: Logger;
  private readonly shippedDir: string | null;
  private readonly warnBytes: number;
  private readonly metrics: ShipperMetrics | null;
  private readonly policy: BackoffPolicy;
  private readonly clock: () => number;
  private readonly sleep: Sleep;
  private readonly random: () => number;
  private readonly queue: PendingSegment[] = [];
  private readonly queued = new Set<string>();
  private backlogBytes = 0;
  private attempt = 0;
  private loop: Promise<void> | null = null;
  private wake = new AbortController();
  private stopped = false;
  private warned = false;
  shippedCount = 0;
  failureCount = 0;

  constructor(options: ShipperOptions) {
    super();
    this.store = options.store;
    this.log = options.logger;
    this.shippedDir = options.shippedDir;
    this.warnBytes = options.backlogWarnBytes;
    this.metrics = options.metrics ?? null;
    this.policy = options.backoff ?? DEFAULT_BACKOFF;
    this.clock = options.clock ?? Date.now;
    this.sleep = options.sleep ?? realSleep;
    this.random = options.random ?? Math.random;
  }

  /** Queues every closed or half-shipped segment in a spool directory (at start, after recovery). */
  enqueueSpool(spoolDir: string): number {
    const found = scanSpool(spoolDir);
    for (const p of found) this.add(p);
    this.changed();
    return found.length;
  }

  /** The writer's 'segment' listener: queue and return at once. */
  readonly enqueue = (segment: ClosedSegment): void => {
    this.add(pendingFromClosed(segment));
    this.changed();
  };

  backlog(): Backlog {
    const oldest = this.queue.reduce((min, p) => Math.min(min, p.id.startMs), Infinity);
    return {
      files: this.queue.length,
      bytes: this.backlogBytes,
      oldestAgeMs: this.queue.length ? Math.max(0, this.clock() - oldest) : 0,
    };
  }

  /** Readiness: a backlog past the warning size means the store has been out of reach a while. */
  readinessProblems(): string[] {
    if (this.backlogBytes <= this.warnBytes) return [];
    return [`spool backlog of ${this.backlogBytes} bytes in ${this.queue.length} segments is over backlog_warn_bytes (${this.warnBytes}); is the store reachable?`];
  }

  /** Sets the backlog gauges (the oldest age moves with the clock, so call before a scrape too). */
  refreshGauges(): void {
    if (!this.metrics) return;
    const b = this.backlog();
    this.metrics.spoolBacklogFiles.set(b.files);
    this.metrics.spoolBacklogBytes.set(b.bytes);
    this.metrics.spoolOldestAgeSeconds.set(b.oldestAgeMs / 1000);
  }

  /**
   * Ships what is queued, retrying soon (backoff restarted), until the queue is empty or the
   * timeout passes. Resolves true when everything was shipped. Stops the shipper either way:
   * what is left stays in the spool for the next start or `tagspend ship`.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    this.attempt = 0;
    this.wake.abort();
    this.kick();
    let timer: NodeJS.Timeout | undefined;
    const idle = this.queue.length === 0 ? Promise.resolve(true) : new Promise<boolean>((resolve) => this.once('idle', () => resolve(true)));
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), Math.max(0, timeoutMs));
    });
    const done = await Promise.race([idle, late]);
    clearTimeout(timer);
    this.stop();
    if (!done) {
      const b = this.backlog();
      this.log.warn({ files: b.files, bytes: b.bytes }, 'gave up shipping at the deadline; the rest stays in the spool and ships on the next start or tagspend ship');
    }
    return done;
  }

  /** Stops retrying; an upload in progress finishes or fails on its own. */
  stop(): void {
    this.stopped = true;
    this.wake.abort();
  }

  private add(p: PendingSegment): void {
    if (this.queued.has(p.gzPath)) return;
    this.queued.add(p.gzPath);
    this.backlogBytes += p.bytes;
    // Segments arrive in order; the sort only matters for a recovered spool.
    this.queue.push(p);
    if (this.queue.length > 1 && comparePending(this.queue[this.queue.length - 2]!, p) > 0) this.queue.sort(comparePending);
  }

  private changed(): void {
    this.refreshGauges();
    this.checkWarning();
    this.kick();
  }

  private checkWarning(): void {
    const over = this.backlogBytes > this.warnBytes;
    if (over && !this.warned) {
      this.log.warn({ bytes: this.backlogBytes, files: this.queue.length, backlog_warn_bytes: this.warnBytes }, 'spool backlog passed backlog_warn_bytes: segments are not reaching the store');
    } else if (!over && this.warned) {
      this.log.info({ bytes: this.backlogBytes, files: this.queue.length }, 'spool backlog back under backlog_warn_bytes');
    }
    this.warned = over;
  }

  private kick(): void {
    if (this.loop || this.stopped || this.queue.length === 0) return;
    this.loop = this.run()
      .catch((err: unknown) => {
        // Only a throwing event listener gets here; the loop itself retries every failure.
        this.log.error({ err }, 'shipper loop failed; restarting it');
      })
      .finally(() => {
        this.loop = null;
        this.kick();
      });
  }

  private async run(): Promise<void> {
    while (!this.stopped && this.queue.length > 0) {
      const next = this.queue[0]!;
      try {
        const shipped = await this.shipOne(next);
        this.attempt = 0;
        // By identity: a segment queued meanwhile may have sorted in ahead of this one.
        this.queue.splice(this.queue.indexOf(next), 1);
        this.queued.delete(next.gzPath);
        this.backlogBytes -= next.bytes;
        this.shippedCount += 1;
        this.metrics?.segmentsShipped.inc();
        this.refreshGauges();
        this.checkWarning();
        if (shipped) this.emit('shipped', shipped);
        if (this.queue.length === 0) this.emit('idle');
      } catch (err) {
        if (this.stopped) return;
        await this.backOff(next, err as Error);
      }
    }
  }

  private async backOff(segment: PendingSegment, err: Error): Promise<void> {
    this.failureCount += 1;
    this.metrics?.shipFailures.inc();
    const delay = backoffDelay(this.attempt, this.policy, this.random);
    this.attempt += 1;
    this.log.warn(
      { code: errorCode(err), err: err.message, object_key: segmentObjectKey(segment.id), attempt: this.attempt, retry_in_ms: delay },
      'segment upload failed; will retry',
    );
    this.emit('failure', err);
    if (this.wake.signal.aborted) this.wake = new AbortController();
    await this.sleep(delay, this.wake.signal);
  }

  /** Ships one segment; null when it had already gone (shipped by an earlier run). */
  private async shipOne(p: PendingSegment): Promise<ShippedSegment | null> {
    const key = segmentObjectKey(p.id);
    let gz: GzipInfo;
    if (p.ndjsonPath !== null && (await exists(p.ndjsonPath))) {
      gz = await gzipFile(p.ndjsonPath, p.gzPath);
    } else if (await exists(p.gzPath)) {
      try {
        gz = await checkGzipFile(p.gzPath);
      } catch (err) {
        // Retrying cannot repair it, and it must not block the segments behind it.
        const aside = `${p.gzPath}.corrupt`;
        renameSync(p.gzPath, aside);
        this.log.error({ file: aside, object_key: key, err: (err as Error).message }, 'a compressed segment left in the spool is damaged; moved aside, not shipped');
        return null;
      }
    } else {
      this.log.warn({ object_key: key }, 'segment vanished from the spool before it was shipped; assuming another run shipped it');
      return null;
    }
    await this.store.putFile(key, p.gzPath, { contentMd5: gz.md5, contentType: 'application/gzip' });
    const stored = await this.store.head(key);
    if (!stored || stored.size !== gz.bytes) {
      throw new StoreIntegrityError(`${key}: stored size ${stored ? stored.size : 'none'} differs from the uploaded ${gz.bytes} bytes`);
    }
    // The .gz goes first: a crash in between leaves only the .ndjson, which ships again under
    // the same key (harmless), never a lone .gz that might be partial.
    if (this.shippedDir) {
      mkdirSync(this.shippedDir, { recursive: true });
      renameSync(p.gzPath, join(this.shippedDir, basename(p.gzPath)));
    } else {
      unlinkSync(p.gzPath);
    }
    if (p.ndjsonPath !== null) unlinkIfExists(p.ndjsonPath);
    this.log.debug({ object_key: key, bytes: p.bytes, gzip_bytes: gz.bytes }, 'segment shipped');
    return { key, gzipBytes: gz.bytes, bytes: p.bytes };
  }
}

function errorCode(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const e = err as { code?: unknown; name?: unknown };
    if (typeof e.code === 'string') return e.code;
    if (typeof e.name === 'string') return e.name;
  }
  return 'UNKNOWN';
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

function unlinkIfExists(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
