// The budgets page and GET /api/budgets: the latest evaluation of every budget (budget_status)
// with % used, the spend projected to the window's end at the current rate, the blocked state
// and the alerts sent in the current window. Read generically: every budget_status column that is
// not a known figure identifies the budget (`subject_kind` and `subject`: tags, customers, keys),
// so other kinds of budget show as they are added.
import type { DuckDBConnection } from '@duckdb/node-api';
import { selectRows, type Json } from '../db/rows.ts';
import { sql } from '../db/sql.ts';
import { sharePercent } from '../report/query.ts';

// `tag` repeats `subject` on tag rows (kept in the table for queries written against schema 1).
const FIGURES = new Set(['run_id', 'evaluated_at', 'budget_duration', 'window_start', 'reset_at', 'spend_usd', 'max_budget_usd', 'blocked', 'watermark', 'tag', 'budget_source', 'soft_budget_usd']);
const ALERT_FIGURES = new Set(['window_start', 'reset_at', 'threshold', 'spend_usd', 'max_budget_usd', 'status', 'attempts', 'error', 'sent_at', 'run_id', 'tag', 'kind']);

export interface BudgetRow {
  /** What the budget is for: the identifying columns (`{"subject_kind": "tag", "subject": "app:search"}`). */
  subject: Record<string, Json>;
  /** `own`, or `default` for a customer under budgets.default_customer_budget. */
  budget_source: string | null;
  /** USD of the soft budget (alerts only), or null. */
  soft_budget_usd: string | null;
  budget_duration: string;
  window_start: string;
  reset_at: string;
  spend_usd: string;
  max_budget_usd: string;
  used_percent: string;
  /** Spend at the window's end if it goes on at the rate so far (null before any time elapsed). */
  projected_usd: string | null;
  blocked: boolean;
  /** The spend is exact up to this record time. */
  watermark: string | null;
  alerts: { kind: string; threshold: number; status: string; sent_at: string; attempts: number; error: string | null }[];
}

export interface Budgets {
  evaluated_at: string | null;
  budgets: BudgetRow[];
}

export function projectSpend(spend: number, windowStartMs: number, resetMs: number, asOfMs: number): number | null {
  const elapsed = Math.min(asOfMs, resetMs) - windowStartMs;
  if (!(elapsed > 0)) return null;
  return (spend * (resetMs - windowStartMs)) / elapsed;
}

export async function buildBudgets(conn: DuckDBConnection): Promise<Budgets> {
  const rows = await selectRows(conn, sql('serve/budget_status_latest'));
  if (rows.length === 0) return { evaluated_at: null, budgets: [] };
  const since = rows.map((r) => String(r.window_start)).sort()[0]!;
  const alerts = await selectRows(conn, sql('serve/alerts_since'), { since: since.replace('Z', '') });
  const budgets = rows.map((r): BudgetRow => {
    const subject: Record<string, Json> = {};
    for (const [k, v] of Object.entries(r)) if (!FIGURES.has(k)) subject[k] = v;
    const spend = String(r.spend_usd);
    // A soft budget alone has no maximum: nothing is used up, nothing blocks.
    const max = r.max_budget_usd === null || r.max_budget_usd === undefined ? '' : String(r.max_budget_usd);
    const start = Date.parse(String(r.window_start));
    const reset = Date.parse(String(r.reset_at));
    const asOf = Date.parse(String(r.watermark ?? r.evaluated_at));
    const projected = projectSpend(Number(spend), start, reset, Number.isNaN(asOf) ? Date.parse(String(r.evaluated_at)) : asOf);
    const keys = Object.keys(subject);
    return {
      subject,
      budget_source: r.budget_source === null || r.budget_source === undefined ? null : String(r.budget_source),
      soft_budget_usd: r.soft_budget_usd === null || r.soft_budget_usd === undefined ? null : String(r.soft_budget_usd),
      budget_duration: String(r.budget_duration),
      window_start: String(r.window_start),
      reset_at: String(r.reset_at),
      spend_usd: spend,
      max_budget_usd: max,
      used_percent: max === '' ? '' : sharePercent(spend, max),
      projected_usd: projected === null ? null : projected.toFixed(10),
      blocked: r.blocked === true,
      watermark: r.watermark === null || r.watermark === undefined ? null : String(r.watermark),
      alerts: alerts
        .filter((a) => a.window_start === r.window_start && keys.every((k) => !Object.hasOwn(a, k) || ALERT_FIGURES.has(k) || a[k] === subject[k]))
        .map((a) => ({ kind: String(a.kind ?? 'threshold'), threshold: Number(a.threshold), status: String(a.status), sent_at: String(a.sent_at), attempts: Number(a.attempts), error: (a.error as string | null) ?? null })),
    };
  });
  budgets.sort((a, b) => Number(b.used_percent || 0) - Number(a.used_percent || 0));
  return { evaluated_at: String(rows[0]!.evaluated_at), budgets };
}
