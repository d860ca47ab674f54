// budgets: for each tag with a budget, its spend in the current window (from spend_logs), a
// budget_status row, alerts for newly crossed thresholds, and control/blocklist.json written to
// the store with the watermark its figures are exact up to. Runs after rollup in reconcile.
import { BLOCKLIST_KEY, BLOCKLIST_SCHEMA, serializeBlockList, type BlockList } from '../../src/budget/blocklist.ts';
import { hasBudget, TagRegistry } from '../../src/budget/tags.ts';
import type { DuckDBConnection } from '@duckdb/node-api';
import { budgetWindow, type BudgetWindow } from '../../src/budget/window.ts';
import { selectOne, selectRows } from '../../src/db/rows.ts';
import { sql } from '../../src/db/sql.ts';
import { crossedThresholds, deliverAlert, type AlertSettings } from './alerts.ts';
import type { JobContext } from '../run/context.ts';

export interface BudgetsResult {
  tags: number;
  blocked: string[];
  alerts: number;
  blockList: BlockList;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Each budgeted tag's spend (exact decimal text) in its window, in one scan of spend_logs. */
async function windowSpends(conn: DuckDBConnection, windows: ReadonlyMap<string, BudgetWindow>): Promise<Map<string, string>> {
  const spends = new Map<string, string>();
  if (windows.size === 0) return spends;
  const list = [...windows].map(([tag, w]) => ({ tag, window_start: iso(w.start), reset_at: iso(w.resetAt) }));
  await conn.run(sql('budgets/stage_budget_windows'), { windows: JSON.stringify(list) });
  const from = Math.min(...[...windows.values()].map((w) => w.start));
  const to = Math.max(...[...windows.values()].map((w) => w.resetAt));
  for (const row of await selectRows(conn, sql('budgets/select_budget_spend'), { from: iso(from), to: iso(to) })) {
    spends.set(String(row.tag), String(row.spend_usd));
  }
  return spends;
}

export async function runBudgets(ctx: JobContext, alerts: AlertSettings): Promise<BudgetsResult> {
  const { conn } = ctx.db;
  const now = ctx.now();
  const nowMs = now.getTime();
  const tz = ctx.settings.timezone;
  const defs = await new TagRegistry(ctx.store).list((key, err) => ctx.log.error({ err, key }, 'tag definition is unreadable; skipped'));
  const wm = (await selectOne(conn, sql('budgets/select_spend_watermark')))?.watermark_ms;
  const watermark = wm === null || wm === undefined ? null : iso(Number(wm));

  const list: BlockList = { schema: BLOCKLIST_SCHEMA, generated_at: iso(nowMs), watermark, timezone: tz, tags: {}, seen_tags: [] };
  const blocked: string[] = [];
  let sent = 0;
  const budgeted = defs.filter(hasBudget).sort((a, b) => a.name.localeCompare(b.name));
  const windows = new Map(budgeted.map((def) => [def.name, budgetWindow(def.budget_duration, nowMs, tz)]));
  const spends = await windowSpends(conn, windows);
  for (const def of budgeted) {
    const w = windows.get(def.name)!;
    const spend = Number(spends.get(def.name) ?? 0);
    const isBlocked = spend >= def.max_budget;
    if (isBlocked) blocked.push(def.name);
    list.tags[def.name] = {
      spend,
      max_budget: def.max_budget,
      budget_duration: def.budget_duration,
      window_start: iso(w.start),
      reset_at: iso(w.resetAt),
      blocked: isBlocked,
    };
    await conn.run(sql('budgets/insert_budget_status'), {
      run_id: ctx.runId,
      evaluated_at: iso(nowMs),
      tag: def.name,
      budget_duration: def.budget_duration,
      window_start: iso(w.start),
      reset_at: iso(w.resetAt),
      spend_usd: spend,
      max_budget_usd: def.max_budget,
      blocked: isBlocked,
      watermark,
    });

    const delivered = new Set(
      (await selectRows(conn, sql('budgets/select_delivered_alerts'), { tag: def.name, window_start: iso(w.start) })).map((r) => Number(r.threshold)),
    );
    const thresholds = def.alert_thresholds ?? alerts.thresholds;
    for (const threshold of crossedThresholds(spend, def.max_budget, thresholds, def.soft_budget, delivered)) {
      const alert = { tag: def.name, threshold, spend, maxBudget: def.max_budget, budgetDuration: def.budget_duration, windowStart: iso(w.start), resetAt: iso(w.resetAt) };
      const d = await deliverAlert(alert, alerts, ctx.log);
      if (d.status !== 'failed') sent += 1;
      await conn.run(sql('budgets/insert_alert_sent'), {
        tag: def.name,
        window_start: iso(w.start),
        reset_at: iso(w.resetAt),
        threshold,
        spend_usd: spend,
        max_budget_usd: def.max_budget,
        status: d.status,
        attempts: d.attempts,
        error: d.error,
        sent_at: ctx.now().toISOString(),
        run_id: ctx.runId,
      });
    }
  }
  list.seen_tags = (await selectRows(conn, sql('budgets/select_seen_tags'))).map((r) => String(r.tag));
  await ctx.store.put(BLOCKLIST_KEY, serializeBlockList(list), { contentType: 'application/json' });
  ctx.log.info({ tags: Object.keys(list.tags).length, blocked, watermark }, 'block-list written');
  return { tags: Object.keys(list.tags).length, blocked, alerts: sent, blockList: list };
}
