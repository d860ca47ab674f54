// The proxy's budget gate. For every budget a request touches (each of its tags with one, its
// customer, its key):
//   committed = reconciled (block-list, exact up to its watermark)
//             + own spend logged since the watermark + own reservations in flight
//             + the other proxies' spend and reservations (their usage files, when fresh)
// The request is admitted only while committed < max_budget for all of them, and then reserves
// its worst-case cost (estimate.ts) against each; when it ends, whatever way, the reservation is
// settled to the real cost. Budgets come from the current definitions (a raised budget unblocks
// at the next poll) and windows from the clock (a new window unblocks on its own).
import type { KeyBudget } from '../config/load.ts';
import { BudgetExceededError, BudgetStoreUnavailableError, CustomerBlockedError, UnpricedModelError } from '../errors.ts';
import type { BlockList } from './blocklist.ts';
import type { CustomerDefinition } from './customers.ts';
import type { CostEstimate } from './estimate.ts';
import { SUBJECT_LABEL, type Ledger, type SharedFigure, type SubjectKind } from './ledger.ts';
import { LedgerBook } from './ledgers.ts';
import { hasBudget, type TagDefinition } from './tags.ts';
import type { BudgetWindow } from './window.ts';

export type { SharedFigure } from './ledger.ts';

export interface BudgetStatus {
  max_budget: number;
  budget_duration: string;
  window_start: string;
  budget_reset_at: string;
  /** The budgets job's figure for the current window. */
  reconciled_spend: number;
  /** Spend this proxy logged since the block-list's watermark. */
  unreconciled_spend: number;
  /** Spend the other proxies published since the watermark. */
  other_proxies_spend: number;
  /** Requests in flight (this proxy's and the others'), at their worst-case cost. */
  reserved: number;
  /** reconciled + unreconciled + other proxies' spend (reservations not included). */
  spend: number;
  blocked: boolean;
}

/** What admission needs to know about one request. */
export interface AdmissionRequest {
  tags: readonly string[];
  /** The end user as records store it (hashed with privacy.hash_user_ids), or null. */
  customer: string | null;
  key: { alias: string; budget: KeyBudget | null } | null;
  /** The worst-case cost, or null when the model has no price. */
  estimate: CostEstimate | null;
  /** For the message of a refused unpriced model. */
  model: string | null;
}

/** The budgets one admitted request holds a reservation against. */
export interface Reservation {
  readonly amount: number;
  /** What the request is counted at when it ends without a known cost. */
  readonly input: number;
  readonly ledgers: readonly Ledger[];
  settled: boolean;
}

/** What the proxy's request pipeline asks of budgets. */
export interface BudgetGate {
  /** Throws a 429 (or 400/403/503) when the request may not go; null when it touches no budget. */
  admit(req: AdmissionRequest, nowMs: number): Reservation | null;
  /** The request ended: its reservation is replaced by its real cost (null = unknown). Once only. */
  settle(reservation: Reservation | null, costUsd: number | null, nowMs: number): void;
}

export interface BudgetGateSources {
  /** `loaded` false = definitions never read yet (store down at start): the block-list's budgets stand. */
  definitions: { readonly loaded: boolean; get(name: string): TagDefinition | undefined };
  customers?: { readonly loaded: boolean; get(id: string): CustomerDefinition | undefined };
  blockList: { readonly current: BlockList | null };
  /** Whether the other proxies' figures are current (the store answered within share_stale_seconds). */
  fleet?: { fresh(nowMs: number): boolean };
}

export interface BudgetGateOptions {
  timeZone: string;
  defaultCustomerBudget?: { max_budget: number; budget_duration: string } | null;
  /** budgets.fail_closed: refuse (503) budgeted requests while the other proxies' figures are stale. */
  failClosed?: boolean;
}

interface Budget {
  max: number;
  duration: string;
}

interface Evaluation {
  budget: Budget;
  window: BudgetWindow;
  reconciled: number;
  own: number;
  others: number;
  reserved: number;
  /** reconciled + own + others: money spent. */
  spend: number;
  /** spend + every reservation: what admission compares with the budget. */
  committed: number;
}

const SEEN_LIMIT = 10_000;
/** A request refused only because of reservations in flight may retry after this long. */
const TRANSIENT_RETRY_SECONDS = 1;

function round(usd: number): number {
  return Math.round(usd * 1e6) / 1e6;
}

export class BudgetEnforcer implements BudgetGate {
  private readonly ledgers: LedgerBook;
  private readonly seen = new Set<string>();
  private heldList: BlockList | null = null;
  /** The block-list's customer budgets by id (used only until customer definitions are read). */
  private listCustomers = new Map<string, Budget>();
  private readonly defaultCustomer: Budget | null;
  private readonly failClosed: boolean;

  constructor(
    private readonly sources: BudgetGateSources,
    options: BudgetGateOptions | string,
  ) {
    const o = typeof options === 'string' ? { timeZone: options } : options;
    this.ledgers = new LedgerBook(o.timeZone);
    const d = o.defaultCustomerBudget ?? null;
    this.defaultCustomer = d ? { max: d.max_budget, duration: d.budget_duration } : null;
    this.failClosed = o.failClosed ?? false;
  }

  admit(req: AdmissionRequest, nowMs: number): Reservation | null {
    this.refreshList();
    const fresh = this.sources.fleet?.fresh(nowMs) ?? true;
    let touched: Ledger[] | null = null;
    for (const tag of req.tags) {
      if (this.seen.size < SEEN_LIMIT) this.seen.add(tag);
      const budget = this.tagBudget(tag);
      if (budget) (touched ??= []).push(this.check('tag', tag, budget, nowMs, fresh));
    }
    if (req.customer !== null) {
      const def = this.sources.customers?.get(req.customer);
      if (def?.blocked) throw new CustomerBlockedError(`Customer=${req.customer} is blocked`, { param: 'user' });
      const budget = this.customerBudget(req.customer);
      if (budget) (touched ??= []).push(this.check('customer', req.customer, budget, nowMs, fresh));
    }
    if (req.key !== null) {
      const kb = req.key.budget;
      if (kb && kb.maxBudget !== null) (touched ??= []).push(this.check('key', req.key.alias, { max: kb.maxBudget, duration: kb.duration }, nowMs, fresh));
    }
    if (touched === null) return null;
    if (!fresh && this.failClosed) {
      throw new BudgetStoreUnavailableError(
        'Budget enforcement unavailable: the spend of the other proxies cannot be read from the store, and budgets.fail_closed is set, so the request was refused to keep the budget. Retry shortly.',
      );
    }
    if (req.estimate === null) {
      const first = touched[0]!;
      throw new UnpricedModelError(
        `The model \`${req.model ?? '(none)'}\` has no known price, so its spend cannot be counted against the budget of ${SUBJECT_LABEL[first.kind]}=${first.name}; ` +
          'add its price to pricing.overrides_file (docs/pricing.md)',
        { param: 'model' },
      );
    }
    const amount = req.estimate.total;
    for (const l of touched) l.reserve(amount);
    return { amount, input: Math.min(req.estimate.input, amount), ledgers: touched, settled: false };
  }

  settle(reservation: Reservation | null, costUsd: number | null, nowMs: number): void {
    if (reservation === null || reservation.settled) return;
    reservation.settled = true;
    const cost = costUsd ?? reservation.input;
    for (const l of reservation.ledgers) {
      l.release(reservation.amount);
      if (cost > 0) l.local.add(nowMs, cost);
    }
  }

  /** What /tag/info, /customer/info show; null when the subject has no budget. */
  status(kind: SubjectKind, name: string, nowMs: number, keyBudget?: KeyBudget | null): BudgetStatus | null {
    this.refreshList();
    const budget = kind === 'tag' ? this.tagBudget(name) : kind === 'customer' ? this.customerBudget(name) : keyBudget && keyBudget.maxBudget !== null ? { max: keyBudget.maxBudget, duration: keyBudget.duration } : null;
    if (!budget) return null;
    const e = this.evaluate(this.ledgers.get(kind, name), budget, nowMs, this.sources.fleet?.fresh(nowMs) ?? true);
    return {
      max_budget: budget.max,
      budget_duration: budget.duration,
      window_start: new Date(e.window.start).toISOString(),
      budget_reset_at: new Date(e.window.resetAt).toISOString(),
      reconciled_spend: round(e.reconciled),
      unreconciled_spend: round(e.own),
      other_proxies_spend: round(e.others),
      reserved: round(e.reserved),
      spend: round(e.spend),
      blocked: e.committed >= budget.max,
    };
  }

  /** Tags this proxy has seen in requests (bounded). */
  seenTags(): string[] {
    return [...this.seen];
  }

  /** The block-list's watermark as this proxy holds it (ms; -Infinity before any). */
  get watermark(): number {
    this.refreshList();
    return this.ledgers.watermarkMs;
  }

  /** This proxy's own figures for every budget it has spend or reservations for (to publish). */
  ownFigures(nowMs: number): SharedFigure[] {
    this.refreshList();
    return this.ledgers.ownFigures(nowMs);
  }

  /** Replaces the other proxies' figures (summed per subject and window by the fleet reader). */
  applyOthers(figures: Iterable<SharedFigure>): void {
    this.ledgers.applyOthers(figures);
  }

  /** Throws when the budget is used up; returns the ledger to reserve against. */
  private check(kind: SubjectKind, name: string, budget: Budget, nowMs: number, fresh: boolean): Ledger {
    const l = this.ledgers.get(kind, name);
    const e = this.evaluate(l, budget, nowMs, fresh);
    if (e.committed >= budget.max) {
      const transient = e.spend < budget.max;
      const retry = transient ? TRANSIENT_RETRY_SECONDS : Math.max(1, (e.window.resetAt - nowMs) / 1000);
      throw new BudgetExceededError(SUBJECT_LABEL[kind], name, round(e.committed), budget.max, retry, transient);
    }
    return l;
  }

  private evaluate(l: Ledger, budget: Budget, nowMs: number, fresh: boolean): Evaluation {
    const window = this.ledgers.windowOf(l, budget.duration, nowMs);
    // The job's figure counts only when it is for this window; a new window starts from zero.
    const reconciled = l.reconciledWindow === window.start ? l.reconciledSpend : 0;
    const own = this.ledgers.ownSpend(l, window);
    // Stale figures (the store did not answer lately) keep the others' spend as last read (it
    // only grows until the watermark passes it) but not their reservations, which may be long gone.
    const othersHere = l.othersWindow === window.start;
    const others = othersHere ? l.othersSpend : 0;
    const reserved = l.reserved + (othersHere && fresh ? l.othersReserved : 0);
    const spend = reconciled + own + others;
    return { budget, window, reconciled, own, others, reserved, spend, committed: spend + reserved };
  }

  private tagBudget(tag: string): Budget | null {
    const defs = this.sources.definitions;
    if (defs.loaded) {
      const def = defs.get(tag);
      return def && hasBudget(def) ? { max: def.max_budget, duration: def.budget_duration } : null;
    }
    // Definitions not readable yet (store down at start): the last block-list's budgets stand.
    const tags = this.heldList?.tags;
    const entry = tags && Object.hasOwn(tags, tag) ? tags[tag] : undefined;
    return entry ? { max: entry.max_budget, duration: entry.budget_duration } : null;
  }

  private customerBudget(id: string): Budget | null {
    const defs = this.sources.customers;
    if (defs?.loaded) {
      const def = defs.get(id);
      if (def && def.max_budget !== null && def.budget_duration !== null) return { max: def.max_budget, duration: def.budget_duration };
      return this.defaultCustomer;
    }
    const entry = this.listCustomers.get(id);
    return entry ?? this.defaultCustomer;
  }

  /** Re-indexes the block-list when the poller swapped it (an identity check per request). */
  private refreshList(): void {
    const list = this.sources.blockList.current;
    if (list === this.heldList) return;
    this.heldList = list;
    this.ledgers.applyBlockList(list);
    this.listCustomers = new Map((list?.customers ?? []).map((e) => [e.id, { max: e.max_budget, duration: e.budget_duration }]));
  }
}
