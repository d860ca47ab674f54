// The proxy's budget gate: spend in a tag's current window = what the budgets job reconciled
// (the block-list, exact up to its watermark) + what this proxy has itself logged after the
// watermark. A tag is blocked as soon as that sum reaches its max_budget; the budget comes from
// the current tag definition, so raising it unblocks at the next definition poll, and the window
// is recomputed from the clock, so a new window unblocks on its own.
import { BudgetExceededError } from '../errors.ts';
import type { BlockList } from './blocklist.ts';
import { hasBudget, type TagDefinition } from './tags.ts';
import { budgetWindow, type BudgetWindow } from './window.ts';

export interface TagBudgetStatus {
  max_budget: number;
  budget_duration: string;
  window_start: string;
  budget_reset_at: string;
  reconciled_spend: number;
  unreconciled_spend: number;
  spend: number;
  blocked: boolean;
}

/** What the proxy's request handler asks of budgets: refuse a request, count its spend. */
export interface BudgetGate {
  check(tags: readonly string[], nowMs: number): void;
  recordSpend(tags: readonly string[], costUsd: number, nowMs: number): void;
}

export interface BudgetGateSources {
  /** The definition of a tag, or undefined; `loaded` false = definitions never read yet. */
  definitions: { readonly loaded: boolean; get(name: string): TagDefinition | undefined };
  blockList: { readonly current: BlockList | null };
}

/** Spend this proxy logged for one tag, in time order, summed from a moving lower bound. */
class LocalSpend {
  private ms: number[] = [];
  private cost: number[] = [];
  private head = 0;
  private total = 0;

  add(ms: number, cost: number): void {
    this.ms.push(ms);
    this.cost.push(cost);
    this.total += cost;
  }

  /** Spend at or after `from`. Bounds only move forward (watermark, window start), so entries before it are dropped. */
  since(from: number): number {
    while (this.head < this.ms.length && this.ms[this.head]! < from) {
      this.total -= this.cost[this.head]!;
      this.head += 1;
    }
    if (this.head > 1024 && this.head * 2 > this.ms.length) {
      this.ms = this.ms.slice(this.head);
      this.cost = this.cost.slice(this.head);
      this.head = 0;
    }
    if (this.head === this.ms.length) this.total = 0; // no float residue on an empty list
    return Math.max(0, this.total);
  }
}

const SEEN_LIMIT = 10_000;

function round(usd: number): number {
  return Math.round(usd * 1e6) / 1e6;
}

export class BudgetEnforcer implements BudgetGate {
  private readonly local = new Map<string, LocalSpend>();
  private readonly windows = new Map<string, { duration: string; window: BudgetWindow }>();
  private readonly seen = new Set<string>();
  private reconciled = new Map<string, { spend: number; windowStart: number }>();
  private watermarkMs = Number.NEGATIVE_INFINITY;
  private heldList: BlockList | null = null;

  constructor(
    private readonly sources: BudgetGateSources,
    private readonly timeZone: string,
  ) {}

  check(tags: readonly string[], nowMs: number): void {
    this.refreshList();
    for (const tag of tags) {
      if (this.seen.size < SEEN_LIMIT) this.seen.add(tag);
      const s = this.evaluate(tag, nowMs);
      if (s?.blocked) throw new BudgetExceededError(tag, s.spend, s.max, Math.max(1, (s.window.resetAt - nowMs) / 1000));
    }
  }

  recordSpend(tags: readonly string[], costUsd: number, nowMs: number): void {
    for (const tag of tags) {
      if (!this.budgetOf(tag)) continue;
      let l = this.local.get(tag);
      if (!l) this.local.set(tag, (l = new LocalSpend()));
      l.add(nowMs, costUsd);
    }
  }

  /** What /tag/info shows for a budgeted tag; null when the tag has no budget. */
  status(tag: string, nowMs: number): TagBudgetStatus | null {
    this.refreshList();
    const s = this.evaluate(tag, nowMs);
    if (!s) return null;
    return {
      max_budget: s.max,
      budget_duration: s.duration,
      window_start: new Date(s.window.start).toISOString(),
      budget_reset_at: new Date(s.window.resetAt).toISOString(),
      reconciled_spend: round(s.reconciled),
      unreconciled_spend: round(s.unreconciled),
      spend: s.spend,
      blocked: s.blocked,
    };
  }

  /** Tags this proxy has seen in requests (bounded). */
  seenTags(): string[] {
    return [...this.seen];
  }

  private budgetOf(tag: string): { max: number; duration: string } | null {
    const defs = this.sources.definitions;
    if (defs.loaded) {
      const def = defs.get(tag);
      return def && hasBudget(def) ? { max: def.max_budget, duration: def.budget_duration } : null;
    }
    // Definitions not readable yet (store down at start): the last block-list's budgets stand.
    const entry = this.sources.blockList.current?.tags[tag];
    return entry ? { max: entry.max_budget, duration: entry.budget_duration } : null;
  }

  private windowOf(tag: string, duration: string, nowMs: number): BudgetWindow {
    const held = this.windows.get(tag);
    if (held && held.duration === duration && held.window.start <= nowMs && nowMs < held.window.resetAt) return held.window;
    const window = budgetWindow(duration, nowMs, this.timeZone);
    this.windows.set(tag, { duration, window });
    return window;
  }

  private evaluate(tag: string, nowMs: number) {
    const budget = this.budgetOf(tag);
    if (!budget) return null;
    const window = this.windowOf(tag, budget.duration, nowMs);
    const r = this.reconciled.get(tag);
    // The job's figure counts only when it is for this window; a new window starts from zero.
    const reconciled = r && r.windowStart === window.start ? r.spend : 0;
    const from = Math.max(window.start, Math.floor(this.watermarkMs) + 1);
    const unreconciled = this.local.get(tag)?.since(from) ?? 0;
    const spend = round(reconciled + unreconciled);
    return { max: budget.max, duration: budget.duration, window, reconciled, unreconciled, spend, blocked: spend >= budget.max };
  }

  /** Re-indexes the block-list when the poller swapped it (an identity check per request). */
  private refreshList(): void {
    const list = this.sources.blockList.current;
    if (list === this.heldList) return;
    this.heldList = list;
    const next = new Map<string, { spend: number; windowStart: number }>();
    if (list) {
      for (const [tag, e] of Object.entries(list.tags)) next.set(tag, { spend: e.spend, windowStart: Date.parse(e.window_start) });
      if (list.watermark !== null) this.watermarkMs = Math.max(this.watermarkMs, Date.parse(list.watermark));
    }
    this.reconciled = next;
  }
}
