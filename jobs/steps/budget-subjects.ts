// Every budget the budgets job evaluates, with its spend in its current window: tags (definitions
// in control/tags/), customers (control/customers/, plus the default customer budget for every
// other end user with spend) and keys (config). Spend is summed exactly (DECIMAL text) in at most
// four scans of spend_logs, whatever the number of budgets.
import type { DuckDBConnection } from '@duckdb/node-api';
import { customerKey, CustomerRegistry } from '../../src/budget/customers.ts';
import type { SubjectKind } from '../../src/budget/ledger.ts';
import { MAX_BUDGET_USD, TagRegistry } from '../../src/budget/tags.ts';
import { budgetWindow, isWithinMaxDuration, type BudgetWindow } from '../../src/budget/window.ts';
import { selectRows } from '../../src/db/rows.ts';
import { sql } from '../../src/db/sql.ts';
import type { JobContext } from '../run/context.ts';

export interface BudgetSubject {
  kind: SubjectKind;
  name: string;
  /** USD per window; null = only a soft budget (alerts, no blocking). */
  maxBudget: number | null;
  softBudget: number | null;
  duration: string;
  /** A tag's own alert thresholds (null: alerts.thresholds). */
  thresholds: number[] | null;
  /** `default`: a customer under budgets.default_customer_budget. */
  source: 'own' | 'default';
  window: BudgetWindow;
  spend: number;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

type Pending = Omit<BudgetSubject, 'spend' | 'window'> & { objectKey: string | null };

/** A definition the job skips: where it is, and why (it is logged at error level and counted). */
export interface InvalidDefinition {
  kind: SubjectKind;
  name: string | null;
  objectKey: string | null;
  reason: string;
}

/** The last instant DuckDB's TIMESTAMP (and an ISO string without a sign) can hold. */
const LAST_TIMESTAMP_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * Why a budget cannot be evaluated (a bound the API enforces, broken by a hand edit or an older
 * release: 1e19 overflowed the job's int64 binding, 97000mo a TIMESTAMP); null when it can.
 */
function budgetProblem(p: Pending): string | null {
  for (const [field, v] of [['max_budget', p.maxBudget], ['soft_budget', p.softBudget]] as const) {
    if (v !== null && !(Number.isFinite(v) && v >= 0 && v <= MAX_BUDGET_USD)) return `${field} ${v} is outside 0..${MAX_BUDGET_USD}`;
  }
  if (!isWithinMaxDuration(p.duration)) return `budget_duration ${p.duration} is not a duration of at most 100 years`;
  return null;
}

/** Spend (number) by name for the windows of one kind, from the staged budget_windows table. */
async function spends(conn: DuckDBConnection, query: string, windows: BudgetWindow[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (windows.length === 0) return out;
  const from = Math.min(...windows.map((w) => w.start));
  const to = Math.max(...windows.map((w) => w.resetAt));
  for (const row of await selectRows(conn, sql(query), { from: iso(from), to: iso(to) })) out.set(String(row.name), Number(row.spend_usd));
  return out;
}

/**
 * Every budget with its spend. A definition that cannot be evaluated (unreadable, out of bounds,
 * a window past the year 9999) is skipped and told to `onInvalid`: one bad definition never
 * stops the budgets of all the others.
 */
export async function budgetSubjects(ctx: JobContext, nowMs: number, onInvalid: (bad: InvalidDefinition) => void = () => {}): Promise<BudgetSubject[]> {
  const { conn } = ctx.db;
  const tz = ctx.settings.timezone;
  const logBad = (kind: 'tag' | 'customer') => (key: string, err: unknown) => onInvalid({ kind, name: null, objectKey: key, reason: `unreadable: ${err instanceof Error ? err.message : String(err)}` });
  const pending: Pending[] = [];

  for (const { def, key } of await new TagRegistry(ctx.store).entries(logBad('tag'))) {
    if (def.budget_duration === null || (def.max_budget === null && def.soft_budget === null)) continue;
    pending.push({ kind: 'tag', name: def.name, maxBudget: def.max_budget, softBudget: def.soft_budget, duration: def.budget_duration, thresholds: def.alert_thresholds, source: 'own', objectKey: key });
  }
  const own = new Set<string>();
  for (const def of await new CustomerRegistry(ctx.store).list(logBad('customer'))) {
    if (def.budget_duration === null || (def.max_budget === null && def.soft_budget === null)) continue;
    // A customer with only a soft budget of its own is still held to the default budget.
    if (def.max_budget === null && ctx.settings.budgets.defaultCustomer) continue;
    own.add(def.user_id);
    pending.push({ kind: 'customer', name: def.user_id, maxBudget: def.max_budget, softBudget: def.soft_budget, duration: def.budget_duration, thresholds: null, source: 'own', objectKey: customerKey(def.user_id) });
  }
  for (const k of ctx.settings.budgets.keys) {
    pending.push({ kind: 'key', name: k.alias, maxBudget: k.maxBudget, softBudget: k.softBudget, duration: k.duration, thresholds: null, source: 'own', objectKey: null });
  }
  pending.sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind.localeCompare(b.kind)));

  const windowed: (Pending & { window: BudgetWindow })[] = [];
  for (const { objectKey, ...p } of pending) {
    let reason = budgetProblem({ ...p, objectKey });
    if (reason === null) {
      try {
        const window = budgetWindow(p.duration, nowMs, tz);
        if (window.start >= 0 && window.resetAt <= LAST_TIMESTAMP_MS) {
          windowed.push({ ...p, objectKey, window });
          continue;
        }
        reason = `its window ends after the year 9999 (${p.duration})`;
      } catch (err) {
        reason = err instanceof Error ? err.message : String(err);
      }
    }
    onInvalid({ kind: p.kind, name: p.name, objectKey, reason });
  }
  const staged = windowed.map((s) => ({ kind: s.kind, name: s.name, window_start: iso(s.window.start), reset_at: iso(s.window.resetAt) }));
  await conn.run(sql('budgets/stage_budget_windows'), { windows: JSON.stringify(staged) });
  const of = (kind: SubjectKind) => windowed.filter((s) => s.kind === kind).map((s) => s.window);
  const byKind: Record<SubjectKind, Map<string, number>> = {
    tag: await spends(conn, 'budgets/select_budget_spend', of('tag')),
    customer: await spends(conn, 'budgets/select_customer_spend', of('customer')),
    key: await spends(conn, 'budgets/select_key_spend', of('key')),
  };
  const out: BudgetSubject[] = windowed.map(({ objectKey: _, ...s }) => ({ ...s, spend: byKind[s.kind].get(s.name) ?? 0 }));

  const d = ctx.settings.budgets.defaultCustomer;
  if (d) {
    const window = budgetWindow(d.duration, nowMs, tz);
    const rows = await selectRows(conn, sql('budgets/select_default_customer_spend'), {
      from: iso(window.start),
      to: iso(window.resetAt),
      limit: ctx.settings.budgets.blocklistMaxCustomers + own.size,
    });
    let kept = 0;
    for (const row of rows) {
      const name = String(row.name);
      if (own.has(name) || kept >= ctx.settings.budgets.blocklistMaxCustomers) continue;
      kept += 1;
      out.push({ kind: 'customer', name, maxBudget: d.maxBudget, softBudget: d.softBudget, duration: d.duration, thresholds: null, source: 'default', window, spend: Number(row.spend_usd) });
    }
  }
  return out;
}
