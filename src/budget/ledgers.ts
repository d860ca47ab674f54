// Every budget this proxy keeps figures for, by kind and name: made on demand, fed by the
// block-list (reconciled figures, watermark) and the fleet (the other proxies' figures), read
// by the gate, and published to the other proxies. Customer ledgers, one per end user with a
// budget, are forgotten once they hold nothing.
import type { BlockList } from './blocklist.ts';
import { Ledger, SUBJECT_KINDS, type SharedFigure, type SubjectKind } from './ledger.ts';
import { budgetWindow, type BudgetWindow } from './window.ts';

/** Customer ledgers kept before idle ones are swept. */
const SWEEP_ABOVE = 1024;

export class LedgerBook {
  private readonly books: Record<SubjectKind, Map<string, Ledger>> = { tag: new Map(), customer: new Map(), key: new Map() };
  /** The newest block-list watermark applied (ms; -Infinity before any): own spend counts after it. */
  watermarkMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly timeZone: string) {}

  get(kind: SubjectKind, name: string): Ledger {
    const book = this.books[kind];
    let l = book.get(name);
    if (!l) book.set(name, (l = new Ledger(kind, name)));
    return l;
  }

  /** The ledger's window for `duration` at `nowMs`, recomputed only when the clock leaves it or the duration changes. */
  windowOf(l: Ledger, duration: string, nowMs: number): BudgetWindow {
    const w = l.window;
    if (l.duration === duration && w.start <= nowMs && nowMs < w.resetAt) return w;
    l.duration = duration;
    l.window = budgetWindow(duration, nowMs, this.timeZone);
    return l.window;
  }

  /** This proxy's own spend in the window, after the watermark. */
  ownSpend(l: Ledger, window: BudgetWindow): number {
    return l.local.since(Math.max(window.start, Math.floor(this.watermarkMs) + 1));
  }

  /** The budgets job's figures replace the previous ones; the watermark only moves forward. */
  applyBlockList(list: BlockList | null): void {
    for (const l of this.all()) {
      l.reconciledSpend = 0;
      l.reconciledWindow = Number.NaN;
    }
    if (!list) return;
    const set = (kind: SubjectKind, name: string, spend: number, windowStart: string) => {
      const l = this.get(kind, name);
      l.reconciledSpend = spend;
      l.reconciledWindow = Date.parse(windowStart);
    };
    for (const [tag, e] of Object.entries(list.tags)) set('tag', tag, e.spend, e.window_start);
    for (const e of list.customers) set('customer', e.id, e.spend, e.window_start);
    for (const e of list.keys) set('key', e.alias, e.spend, e.window_start);
    if (list.watermark !== null) this.watermarkMs = Math.max(this.watermarkMs, Date.parse(list.watermark));
  }

  /** This proxy's own figures for every budget it has spend or reservations for (to publish). */
  ownFigures(nowMs: number): SharedFigure[] {
    const out: SharedFigure[] = [];
    for (const l of this.all()) {
      if (l.duration === '' || (l.inFlight === 0 && l.local.empty)) continue;
      const w = this.windowOf(l, l.duration, nowMs);
      const spend = this.ownSpend(l, w);
      if (spend === 0 && l.reserved === 0) continue;
      out.push({ kind: l.kind, name: l.name, windowStart: w.start, spend, reserved: l.reserved });
    }
    return out;
  }

  /** Replaces the other proxies' figures (their files' subjects, summed per budget and window). */
  applyOthers(figures: Iterable<SharedFigure>): void {
    for (const l of this.all()) {
      l.othersSpend = 0;
      l.othersReserved = 0;
      l.othersWindow = Number.NaN;
    }
    for (const f of figures) {
      const l = this.get(f.kind, f.name);
      if (l.othersWindow === f.windowStart) {
        l.othersSpend += f.spend;
        l.othersReserved += f.reserved;
      } else {
        l.othersWindow = f.windowStart;
        l.othersSpend = f.spend;
        l.othersReserved = f.reserved;
      }
    }
    this.sweep();
  }

  private *all(): Iterable<Ledger> {
    for (const kind of SUBJECT_KINDS) yield* this.books[kind].values();
  }

  private sweep(): void {
    const book = this.books.customer;
    if (book.size < SWEEP_ABOVE) return;
    for (const [id, l] of book) if (l.idle) book.delete(id);
  }
}
