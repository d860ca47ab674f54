// budgets: for every budget (tags, customers, keys: budget-subjects.ts) its spend in the current
// window, a budget_status row, the alerts newly due (thresholds, soft budget, projected
// overspend; spend spikes per tag), and control/blocklist.json written to the store with the
// watermark its figures are exact up to. Runs after rollup in reconcile.
import { BLOCKLIST_KEY, BLOCKLIST_SCHEMA, serializeBlockList, type BlockList, type BlockListEntry } from '../../src/budget/blocklist.ts';
import { SUBJECT_LABEL } from '../../src/budget/ledger.ts';
import { budgetWindow } from '../../src/budget/window.ts';
import { selectOne, selectRows } from '../../src/db/rows.ts';
import { sql } from '../../src/db/sql.ts';
import { crossedThresholds, deliverAlert, projectedSpend, type AlertSettings, type BudgetAlert } from './alerts.ts';
import { budgetSubjects, type BudgetSubject, type InvalidDefinition } from './budget-subjects.ts';
import type { JobContext } from '../run/context.ts';

export interface BudgetsResult {
  /** Tag budgets in the block-list. */
  tags: number;
  /** Budgets evaluated, of every kind. */
  subjects: number;
  /** Blocked tags (by name), and every blocked budget as `Kind=name`. */
  blocked: string[];
  blockedSubjects: string[];
  alerts: number;
  blockList: BlockList;
  /** Definitions skipped as unreadable or unusable (each logged at error level). */
  invalid: InvalidDefinition[];
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function entry(s: BudgetSubject, blocked: boolean): BlockListEntry {
  return {
    spend: s.spend,
    max_budget: s.maxBudget!,
    budget_duration: s.duration,
    window_start: iso(s.window.start),
    reset_at: iso(s.window.resetAt),
    blocked,
  };
}

/** Sends one alert unless it was delivered already; returns whether one went out. */
async function alertOnce(ctx: JobContext, settings: AlertSettings, delivered: ReadonlySet<string>, a: BudgetAlert): Promise<boolean> {
  if (delivered.has(`${a.kind}:${a.threshold}`)) return false;
  const d = await deliverAlert(a, settings, ctx.log);
  await ctx.db.conn.run(sql('budgets/insert_alert_sent'), {
    tag: a.subjectKind === 'tag' ? a.subject : null,
    window_start: a.windowStart,
    reset_at: a.resetAt,
    threshold: a.threshold,
    spend_usd: a.spend,
    max_budget_usd: a.maxBudget,
    status: d.status,
    attempts: d.attempts,
    error: d.error,
    sent_at: ctx.now().toISOString(),
    run_id: ctx.runId,
    kind: a.kind,
    subject_kind: a.subjectKind,
    subject: a.subject,
  });
  return d.status !== 'failed';
}

async function deliveredFor(ctx: JobContext, kind: string, subject: string, windowStart: string): Promise<Set<string>> {
  const rows = await selectRows(ctx.db.conn, sql('budgets/select_delivered_alerts'), { subject_kind: kind, subject, window_start: windowStart });
  return new Set(rows.map((r) => `${String(r.kind)}:${Number(r.threshold)}`));
}

/** The alerts a budget is due in its window: thresholds, soft budget, projected overspend. */
function dueAlerts(s: BudgetSubject, settings: AlertSettings, nowMs: number, delivered: ReadonlySet<string>): BudgetAlert[] {
  const base = { subjectKind: s.kind, subject: s.name, spend: s.spend, maxBudget: s.maxBudget, budgetDuration: s.duration, windowStart: iso(s.window.start), resetAt: iso(s.window.resetAt) };
  const out: BudgetAlert[] = [];
  const done = new Set([...delivered].filter((k) => k.startsWith('threshold:')).map((k) => Number(k.slice('threshold:'.length))));
  if (s.maxBudget !== null) {
    for (const t of crossedThresholds(s.spend, s.maxBudget, s.thresholds ?? settings.thresholds, done)) out.push({ ...base, kind: 'threshold', threshold: t });
  }
  if (s.softBudget !== null && s.spend >= s.softBudget) out.push({ ...base, kind: 'soft', threshold: s.softBudget });
  if (s.maxBudget !== null && s.maxBudget > 0 && s.spend < s.maxBudget) {
    const projected = projectedSpend(s.spend, s.window.start, s.window.resetAt, nowMs, settings.projectionMinElapsed);
    if (projected !== null && projected > s.maxBudget) {
      // Its threshold is fixed (1) so "once per window" holds while the projection moves.
      out.push({ ...base, kind: 'projected', threshold: 1, projected: Math.round(projected * 1e6) / 1e6 });
    }
  }
  return out;
}

/** Tags whose day is a spike: one alert per tag per day. */
async function spikeAlerts(ctx: JobContext, settings: AlertSettings, nowMs: number): Promise<number> {
  if (settings.spikeFactor <= 0) return 0;
  const day = budgetWindow('1d', nowMs, ctx.settings.timezone);
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: ctx.settings.timezone }).format(nowMs);
  let sent = 0;
  for (const row of await selectRows(ctx.db.conn, sql('budgets/select_tag_spikes'), { today, factor: settings.spikeFactor, min_usd: settings.spikeMinUsd })) {
    const tag = String(row.tag);
    const spend = Number(row.spend);
    const median = Number(row.median);
    const ratio = Math.round((spend / median) * 100) / 100;
    const delivered = await deliveredFor(ctx, 'tag', tag, iso(day.start));
    if ([...delivered].some((k) => k.startsWith('spike:'))) continue;
    const alert: BudgetAlert = {
      kind: 'spike',
      subjectKind: 'tag',
      subject: tag,
      threshold: ratio,
      spend,
      maxBudget: null,
      budgetDuration: '1d',
      windowStart: iso(day.start),
      resetAt: iso(day.resetAt),
      median,
    };
    if (await alertOnce(ctx, settings, delivered, alert)) sent += 1;
  }
  return sent;
}

export async function runBudgets(ctx: JobContext, alerts: AlertSettings): Promise<BudgetsResult> {
  const { conn } = ctx.db;
  const nowMs = ctx.now().getTime();
  const tz = ctx.settings.timezone;
  const wm = (await selectOne(conn, sql('budgets/select_spend_watermark')))?.watermark_ms;
  const watermark = wm === null || wm === undefined ? null : iso(Number(wm));
  const invalid: InvalidDefinition[] = [];
  const skip = (bad: InvalidDefinition) => {
    invalid.push(bad);
    ctx.log.error({ kind: bad.kind, name: bad.name, object_key: bad.objectKey, reason: bad.reason }, `${bad.kind} budget definition cannot be evaluated; skipped`);
  };
  const subjects = await budgetSubjects(ctx, nowMs, skip);

  const list: BlockList = {
    schema: BLOCKLIST_SCHEMA,
    generated_at: iso(nowMs),
    watermark,
    timezone: tz,
    tags: Object.create(null) as BlockList['tags'],
    seen_tags: [],
    customers: [],
    keys: [],
  };
  const blocked: string[] = [];
  const blockedSubjects: string[] = [];
  const lowest = Math.min(1, ...alerts.thresholds);
  let sent = 0;
  /** One budget: its block-list entry, budget_status row and alerts; returns the alerts sent. */
  async function evaluate(s: BudgetSubject): Promise<number> {
    const isBlocked = s.maxBudget !== null && s.spend >= s.maxBudget;
    if (isBlocked) {
      blockedSubjects.push(`${SUBJECT_LABEL[s.kind]}=${s.name}`);
      if (s.kind === 'tag') blocked.push(s.name);
    }
    if (s.maxBudget !== null) {
      if (s.kind === 'tag') list.tags[s.name] = entry(s, isBlocked);
      else if (s.kind === 'customer') list.customers.push({ id: s.name, ...entry(s, isBlocked) });
      else list.keys.push({ alias: s.name, ...entry(s, isBlocked) });
    }
    // Default-budget customers may be many: a status row only once they are near their budget,
    // and no alerts (a definition of their own brings both).
    const isDefault = s.source === 'default';
    if (isDefault && !(s.maxBudget !== null && s.spend >= lowest * s.maxBudget)) return 0;
    await conn.run(sql('budgets/insert_budget_status'), {
      run_id: ctx.runId,
      evaluated_at: iso(nowMs),
      tag: s.kind === 'tag' ? s.name : null,
      budget_duration: s.duration,
      window_start: iso(s.window.start),
      reset_at: iso(s.window.resetAt),
      spend_usd: s.spend,
      max_budget_usd: s.maxBudget,
      blocked: isBlocked,
      watermark,
      subject_kind: s.kind,
      subject: s.name,
      budget_source: s.source,
      soft_budget_usd: s.softBudget,
    });
    if (isDefault) return 0;
    const delivered = await deliveredFor(ctx, s.kind, s.name, iso(s.window.start));
    let n = 0;
    for (const a of dueAlerts(s, alerts, nowMs, delivered)) if (await alertOnce(ctx, alerts, delivered, a)) n += 1;
    return n;
  }
  for (const s of subjects) {
    try {
      sent += await evaluate(s);
    } catch (err) {
      skip({ kind: s.kind, name: s.name, objectKey: null, reason: err instanceof Error ? err.message : String(err) });
    }
  }
  sent += await spikeAlerts(ctx, alerts, nowMs);
  list.seen_tags = (await selectRows(conn, sql('budgets/select_seen_tags'))).map((r) => String(r.tag));
  await ctx.store.put(BLOCKLIST_KEY, serializeBlockList(list), { contentType: 'application/json' });
  ctx.log.info({ budgets: subjects.length, blocked: blockedSubjects, watermark }, 'block-list written');
  return { tags: Object.keys(list.tags).length, subjects: subjects.length, blocked, blockedSubjects, alerts: sent, blockList: list, invalid };
}
