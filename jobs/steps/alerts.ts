// Budget alerts: which thresholds a budget has crossed in its window and where its spend is
// heading (pure), and their delivery as a Slack-compatible webhook POST plus a log line. A
// failed POST is retried a few times, then recorded as failed (and tried again by the next run);
// it never fails the job.
import { setTimeout as delay } from 'node:timers/promises';
import type { Config } from '../../src/config/schema.ts';
import type { Logger } from '../../src/log.ts';
import type { SubjectKind } from '../../src/budget/ledger.ts';

export interface AlertSettings {
  readonly thresholds: readonly number[];
  readonly webhookUrl: string | null;
  readonly retries: number;
  readonly timeoutMs: number;
  /** First retry delay; doubles per attempt. */
  readonly retryBaseMs: number;
  /** A tag's day above this many times its trailing 7-day median is a spike; 0 = off. */
  readonly spikeFactor: number;
  readonly spikeMinUsd: number;
  /** Projected-overspend alerts start once this fraction of the window has passed. */
  readonly projectionMinElapsed: number;
}

export function alertSettings(config: Config): AlertSettings {
  const a = config.alerts;
  return Object.freeze({
    thresholds: Object.freeze([...a.thresholds].sort((x, y) => x - y)),
    webhookUrl: a.webhook_url ?? null,
    retries: a.webhook_retries,
    timeoutMs: a.webhook_timeout_ms,
    retryBaseMs: 250,
    spikeFactor: a.spike_factor,
    spikeMinUsd: a.spike_min_usd,
    projectionMinElapsed: a.projection_min_elapsed,
  });
}

/**
 * threshold: spend passed a fraction of max_budget (`threshold` is the fraction);
 * soft: spend passed soft_budget (`threshold` is the soft budget in USD);
 * projected: the window's spend rate projects past max_budget (`threshold`: projected / max);
 * spike: a tag's day passed spike_factor times its 7-day median (`threshold`: day / median).
 */
export type AlertKind = 'threshold' | 'soft' | 'projected' | 'spike';

export interface BudgetAlert {
  kind: AlertKind;
  subjectKind: SubjectKind;
  subject: string;
  threshold: number;
  spend: number;
  maxBudget: number | null;
  budgetDuration: string;
  windowStart: string;
  resetAt: string;
  /** projected: spend at the window's end at the current rate. */
  projected?: number;
  /** spike: the trailing 7-day median. */
  median?: number;
}

/**
 * Thresholds (fractions of max_budget) crossed by `spend` that were not alerted yet in this
 * window. A zero budget blocks everything and has nothing to warn about.
 */
export function crossedThresholds(spend: number, maxBudget: number, thresholds: readonly number[], delivered: ReadonlySet<number>): number[] {
  if (maxBudget <= 0) return [];
  return [...new Set(thresholds)].filter((t) => spend >= t * maxBudget && !delivered.has(t)).sort((a, b) => a - b);
}

/**
 * The spend at the window's end if it goes on at the rate so far, or null while too little of
 * the window has passed to tell (`minElapsed`, a fraction of the window).
 */
export function projectedSpend(spend: number, startMs: number, resetMs: number, nowMs: number, minElapsed: number): number | null {
  const elapsed = nowMs - startMs;
  const length = resetMs - startMs;
  if (length <= 0 || elapsed <= 0 || elapsed / length < minElapsed) return null;
  return (spend * length) / elapsed;
}

function usd(v: number): string {
  return `$${v < 1 ? v.toFixed(4) : v.toFixed(2)}`;
}

const NOUN: Readonly<Record<SubjectKind, string>> = { tag: 'tag', customer: 'customer', key: 'key' };
const BLOCKED_WITH: Readonly<Record<SubjectKind, string>> = { tag: 'with this tag', customer: 'of this customer', key: 'with this key' };

function alertText(a: BudgetAlert): string {
  const who = `${NOUN[a.subjectKind]} \`${a.subject}\``;
  const resets = `the window resets ${a.resetAt}`;
  switch (a.kind) {
    case 'threshold':
      return (
        `tagspend budget alert: ${who} reached ${Math.round(a.threshold * 100)}% of its ${a.budgetDuration} budget ` +
        `(${usd(a.spend)} of ${usd(a.maxBudget ?? 0)}); ${resets}` +
        (a.maxBudget !== null && a.spend >= a.maxBudget ? `. Requests ${BLOCKED_WITH[a.subjectKind]} are now blocked.` : '.')
      );
    case 'soft':
      return `tagspend budget alert: ${who} passed its soft budget of ${usd(a.threshold)} (${usd(a.spend)} spent in its ${a.budgetDuration} window${a.maxBudget === null ? '' : `, budget ${usd(a.maxBudget)}`}); ${resets}. Nothing is blocked.`;
    case 'projected':
      return `tagspend budget alert: ${who} is on course to spend ${usd(a.projected ?? 0)} in its ${a.budgetDuration} window, over its budget of ${usd(a.maxBudget ?? 0)} (${usd(a.spend)} so far); ${resets}.`;
    case 'spike':
      return `tagspend spend spike: ${who} spent ${usd(a.spend)} today, ${a.threshold.toFixed(1)}x its 7-day median of ${usd(a.median ?? 0)}.`;
  }
}

/** The webhook body: Slack reads `text`; the other fields are for everything else. */
export function alertPayload(a: BudgetAlert): Record<string, unknown> {
  return {
    text: alertText(a),
    kind: a.kind,
    subject_kind: a.subjectKind,
    subject: a.subject,
    ...(a.subjectKind === 'tag' ? { tag: a.subject } : {}),
    threshold: a.threshold,
    spend_usd: a.spend,
    max_budget_usd: a.maxBudget,
    budget_duration: a.budgetDuration,
    window_start: a.windowStart,
    reset_at: a.resetAt,
    ...(a.projected !== undefined ? { projected_spend_usd: a.projected } : {}),
    ...(a.median !== undefined ? { median_usd: a.median } : {}),
  };
}

export interface Delivery {
  status: 'sent' | 'logged' | 'failed';
  attempts: number;
  error: string | null;
}

export async function deliverAlert(alert: BudgetAlert, settings: AlertSettings, log: Logger): Promise<Delivery> {
  const payload = alertPayload(alert);
  log.warn({ alert: payload }, String(payload.text));
  if (!settings.webhookUrl) return { status: 'logged', attempts: 0, error: null };
  let error = '';
  const attempts = settings.retries + 1;
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await delay(settings.retryBaseMs * 2 ** (i - 1));
    try {
      const res = await fetch(settings.webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(settings.timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return { status: 'sent', attempts: i + 1, error: null };
      error = `webhook answered HTTP ${res.status}`;
    } catch (err) {
      error = `webhook POST failed: ${(err as Error).message}`;
    }
  }
  log.error({ kind: alert.kind, subject_kind: alert.subjectKind, subject: alert.subject, threshold: alert.threshold, error }, 'budget alert webhook failed; the next run tries again');
  return { status: 'failed', attempts, error };
}
