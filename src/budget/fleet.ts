// Several proxies, one store, no other shared infrastructure: every share interval each proxy
// writes what it has spent since the block-list's watermark and what it holds in reservations to
// control/usage/<instance>.json, reads the other proxies' files and hands their sums to its gate.
// So K proxies overshoot a budget by at most what the others admit within one interval.
//
// A file that stops changing is another proxy that died (or lost the store): after
// share_stale_seconds its reservations no longer count (its requests died with it); its spend
// still counts until the block-list's watermark passes the moment it was written (by then the
// job may have loaded its records), and the file is deleted an hour later. While the store
// cannot be read, the other proxies' figures go stale and this proxy falls back to what it knows
// itself: fresh() turns false, the gate stops counting the others' reservations (keeping their
// spend as last read) and, with budgets.fail_closed, refuses budgeted requests.
import { z } from 'zod';
import type { Logger } from '../log.ts';
import type { ObjectStore } from '../store/types.ts';
import { withDeadline } from './deadline.ts';
import { SUBJECT_KINDS, type SubjectKind } from './ledger.ts';
import type { SharedFigure } from './ledger.ts';

export const USAGE_PREFIX = 'control/usage/';
export const USAGE_SCHEMA = 1;
/** A stale usage file is deleted this long after it was last written. */
const DELETE_AFTER_MS = 3_600_000;
/** Customers published per file at most (the biggest spenders first): the file stays small. */
export const MAX_PUBLISHED_CUSTOMERS = 10_000;

const fileSchema = z.object({
  schema: z.literal(USAGE_SCHEMA),
  instance: z.string(),
  published_at: z.string(),
  /** The block-list watermark the spend figures start after (null: no block-list yet). */
  watermark: z.string().nullable(),
  subjects: z.array(
    z.object({
      kind: z.enum(SUBJECT_KINDS as [SubjectKind, ...SubjectKind[]]),
      name: z.string(),
      window_start: z.string(),
      spend: z.number().finite().min(0),
      reserved: z.number().finite().min(0),
    }),
  ),
});
export type UsageFile = z.output<typeof fileSchema>;

export function usageKey(instance: string): string {
  return `${USAGE_PREFIX}${encodeURIComponent(instance)}.json`;
}

export function parseUsageFile(text: string): UsageFile {
  return fileSchema.parse(JSON.parse(text));
}

/** What the fleet needs from the gate: its own figures out, the others' figures in. */
export interface FleetGate {
  readonly watermark: number;
  ownFigures(nowMs: number): SharedFigure[];
  applyOthers(figures: Iterable<SharedFigure>): void;
}

export interface FleetOptions {
  store: ObjectStore;
  instance: string;
  gate: FleetGate;
  clock: () => number;
  logger: Logger;
  staleMs: number;
}

export class Fleet {
  private readonly files = new Map<string, { etag: string; file: UsageFile | null }>();
  private lastSuccessMs = Number.NEGATIVE_INFINITY;
  /** Exchanges that failed (a store error on the write, the listing or a read). */
  failures = 0;
  /** Other proxies whose file counted in the last exchange (fresh ones). */
  peers = 0;
  /** How long the last exchange and the slowest one took (ms): the other proxies learn of our spend within two share intervals plus two exchanges. */
  lastExchangeMs = 0;
  slowestExchangeMs = 0;
  /** The longest time between the starts of two exchanges (the interval plus timer lateness plus the exchange). */
  longestGapMs = 0;
  /**
   * The longest time between the starts of two successful exchanges: with failed ones between
   * them, what the others knew of this proxy (and it of them) was that old.
   */
  longestSuccessGapMs = 0;
  private lastStartMs = Number.NaN;
  /** What we wrote last (without its time) and when: unchanged figures are not written again until half the stale limit. */
  private lastBody = '';
  private lastPutMs = Number.NEGATIVE_INFINITY;
  /** PUTs of our usage file (unchanged figures are not written again for a while). */
  puts = 0;
  private readonly log: Logger;

  constructor(private readonly o: FleetOptions) {
    this.log = o.logger.child({ component: 'fleet' });
  }

  /** Whether the other proxies' figures are current: the last exchange succeeded within staleMs. */
  fresh(nowMs: number): boolean {
    return nowMs - this.lastSuccessMs <= this.o.staleMs;
  }

  /**
   * One exchange: write ours, read theirs. Never throws. An exchange that has not finished after
   * half of share_stale_seconds counts as failed (a store request can hang: a server that sends
   * fewer bytes than it announced leaves the client waiting for its socket timeout), so the next
   * one starts on time; the late one changes nothing when it ends.
   */
  async exchange(): Promise<void> {
    const { clock } = this.o;
    const nowMs = clock();
    if (!Number.isNaN(this.lastStartMs)) this.longestGapMs = Math.max(this.longestGapMs, nowMs - this.lastStartMs);
    this.lastStartMs = nowMs;
    try {
      await withDeadline(Math.max(this.o.staleMs / 2, 1), 'the usage exchange', (current) => this.exchangeOnce(nowMs, current));
      if (Number.isFinite(this.lastSuccessMs)) this.longestSuccessGapMs = Math.max(this.longestSuccessGapMs, nowMs - this.lastSuccessMs);
      this.lastSuccessMs = nowMs;
      this.lastExchangeMs = clock() - nowMs;
      this.slowestExchangeMs = Math.max(this.slowestExchangeMs, this.lastExchangeMs);
    } catch (err) {
      this.failures += 1;
      this.log.warn({ err, failures: this.failures }, 'could not share usage with the other proxies through the store');
    }
  }

  /** The exchange's work; `current()` turns false once it was given up, and then it changes nothing. */
  private async exchangeOnce(nowMs: number, current: () => boolean): Promise<void> {
    const { store, instance, gate } = this.o;
    const subjects = publishable(gate.ownFigures(nowMs)).map((f) => ({
      kind: f.kind,
      name: f.name,
      window_start: new Date(f.windowStart).toISOString(),
      spend: f.spend,
      reserved: f.reserved,
    }));
    const watermark = Number.isFinite(gate.watermark) ? new Date(gate.watermark).toISOString() : null;
    const body = JSON.stringify({ watermark, subjects });
    // An idle proxy need not rewrite the same figures every interval; it does before they go stale.
    if (body !== this.lastBody || nowMs - this.lastPutMs >= this.o.staleMs / 2) {
      const mine: UsageFile = { schema: USAGE_SCHEMA, instance, published_at: new Date(nowMs).toISOString(), watermark, subjects };
      await store.put(usageKey(instance), JSON.stringify(mine), { contentType: 'application/json' });
      if (!current()) return;
      this.lastBody = body;
      this.lastPutMs = nowMs;
      this.puts += 1;
    }
    const read = new Map<string, { etag: string; file: UsageFile | null }>();
    for await (const info of store.list(USAGE_PREFIX)) {
      if (info.key === usageKey(instance)) continue;
      const held = this.files.get(info.key);
      if (held && held.etag === info.etag) {
        read.set(info.key, held);
        continue;
      }
      const got = await store.get(info.key);
      if (!got || !('body' in got)) continue;
      try {
        read.set(info.key, { etag: info.etag, file: parseUsageFile(got.body.toString('utf8')) });
      } catch (err) {
        // Keep the last good figures (dropping them would let this proxy overshoot by the other
        // one's whole spend), and read the object again next time: a store whose overwrites are
        // not atomic can hand out a half-written file.
        this.log.warn({ err, object_key: info.key }, 'usage file of another proxy is unreadable; keeping its last good figures');
        read.set(info.key, { etag: '', file: held?.file ?? null });
      }
    }
    if (!current()) return;
    this.files.clear();
    for (const [key, held] of read) this.files.set(key, held);
    gate.applyOthers(this.figures(nowMs));
    await this.deleteDead(nowMs);
  }

  /** The figures that count now: fresh files in full, stale ones for their spend until the watermark passes them. */
  private figures(nowMs: number): SharedFigure[] {
    const out: SharedFigure[] = [];
    let peers = 0;
    const watermark = this.o.gate.watermark;
    for (const { file } of this.files.values()) {
      if (!file) continue;
      const at = Date.parse(file.published_at);
      const stale = nowMs - at > this.o.staleMs;
      if (stale && watermark >= at) continue;
      if (!stale) peers += 1;
      for (const s of file.subjects) {
        out.push({ kind: s.kind, name: s.name, windowStart: Date.parse(s.window_start), spend: s.spend, reserved: stale ? 0 : s.reserved });
      }
    }
    this.peers = peers;
    return out;
  }

  /** Files of proxies gone for an hour are removed (by whichever proxy sees them first). */
  private async deleteDead(nowMs: number): Promise<void> {
    for (const [key, { file }] of this.files) {
      if (file && nowMs - Date.parse(file.published_at) > DELETE_AFTER_MS) {
        await this.o.store.delete(key).catch(() => {});
        this.files.delete(key);
      }
    }
  }
}

/** Every tag and key figure, and the customers with the most spend and reservations (MAX_PUBLISHED_CUSTOMERS). */
function publishable(figures: SharedFigure[]): SharedFigure[] {
  const customers = figures.filter((f) => f.kind === 'customer');
  if (customers.length <= MAX_PUBLISHED_CUSTOMERS) return figures;
  const kept = new Set(customers.sort((a, b) => b.spend + b.reserved - (a.spend + a.reserved)).slice(0, MAX_PUBLISHED_CUSTOMERS));
  return figures.filter((f) => f.kind !== 'customer' || kept.has(f));
}
