// What one proxy knows about one budget (a tag's, a customer's or a key's): the budgets job's
// figure from the block-list, the spend it logged itself since the block-list's watermark, the
// reservations of its requests in flight, and the other proxies' spend and reservations from
// their usage files. The gate (gate.ts) adds these up; nothing here decides anything.
import type { BudgetWindow } from './window.ts';

export type SubjectKind = 'tag' | 'customer' | 'key';
export const SUBJECT_KINDS: readonly SubjectKind[] = ['tag', 'customer', 'key'];

/** One budget's figures as a proxy publishes them to the others, or reads them from their files. */
export interface SharedFigure {
  kind: SubjectKind;
  name: string;
  windowStart: number;
  spend: number;
  reserved: number;
}

/** How a 429 message names the budget: `Tag=...`, `Customer=...`, `Key=...`. */
export const SUBJECT_LABEL: Readonly<Record<SubjectKind, string>> = Object.freeze({ tag: 'Tag', customer: 'Customer', key: 'Key' });

/** Spend is kept per second: bounded memory (86,400 entries a day at most) whatever the traffic. */
const BUCKET_MS = 1000;

/**
 * Spend this proxy logged for one budget, in one-second buckets in time order, summed from a
 * moving lower bound. A bucket is dropped only once it ends at or before the bound, so spend in
 * the second of the bound is counted (erring on blocking, never on overspending).
 */
export class LocalSpend {
  private start: number[] = [];
  private cost: number[] = [];
  private head = 0;
  private total = 0;

  add(ms: number, cost: number): void {
    const b = Math.floor(ms / BUCKET_MS) * BUCKET_MS;
    const last = this.start.length - 1;
    // Same second, or a clock that stepped back: into the newest bucket.
    if (last >= this.head && b <= this.start[last]!) this.cost[last]! += cost;
    else {
      this.start.push(b);
      this.cost.push(cost);
    }
    this.total += cost;
  }

  get empty(): boolean {
    return this.head === this.start.length;
  }

  /** Spend at or after `from` (to the second). Bounds only move forward (watermark, window start), so buckets before it are dropped. */
  since(from: number): number {
    while (this.head < this.start.length && this.start[this.head]! + BUCKET_MS <= from) {
      this.total -= this.cost[this.head]!;
      this.head += 1;
    }
    if (this.head > 1024 && this.head * 2 > this.start.length) {
      this.start = this.start.slice(this.head);
      this.cost = this.cost.slice(this.head);
      this.head = 0;
    }
    if (this.head === this.start.length) this.total = 0; // no float residue on an empty list
    return Math.max(0, this.total);
  }
}

export class Ledger {
  readonly local = new LocalSpend();
  /** USD reserved by this proxy's requests in flight, and how many they are. */
  reserved = 0;
  inFlight = 0;
  /** The budget's current window, recomputed when the clock leaves it or the duration changes. */
  duration = '';
  window: BudgetWindow = { start: Number.NaN, resetAt: Number.NaN };
  /** The block-list's figure and the window it is for (NaN: none). */
  reconciledSpend = 0;
  reconciledWindow = Number.NaN;
  /** The other proxies' spend and reservations for this budget, and their window (NaN: none). */
  othersSpend = 0;
  othersReserved = 0;
  othersWindow = Number.NaN;

  constructor(
    readonly kind: SubjectKind,
    readonly name: string,
  ) {}

  reserve(amount: number): void {
    this.reserved += amount;
    this.inFlight += 1;
  }

  release(amount: number): void {
    this.inFlight -= 1;
    // Sums of floats do not return to zero exactly: an idle ledger holds no reservation at all.
    this.reserved = this.inFlight <= 0 ? ((this.inFlight = 0), 0) : Math.max(0, this.reserved - amount);
  }

  /** Nothing to remember: no reservation, no own spend, no figure from the block-list or the fleet. */
  get idle(): boolean {
    return this.inFlight === 0 && this.local.empty && Number.isNaN(this.reconciledWindow) && Number.isNaN(this.othersWindow);
  }
}
