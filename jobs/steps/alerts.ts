// Budget alerts: which thresholds a tag has crossed in its window (pure), and their delivery as
// a Slack-compatible webhook POST plus a log line. A failed POST is retried a few times, then
// recorded as failed (and tried again by the next run); it never fails the job.
import { setTimeout as delay } from 'node:timers/promises';
import type { Config } from '../../src/config/schema.ts';
import type { Logger } from '../../src/log.ts';

export interface AlertSettings {
  readonly thresholds: readonly number[];
  readonly webhookUrl: string | null;
  readonly retries: number;
  readonly timeoutMs: number;
  /** First retry delay; doubles per attempt. */
  readonly retryBaseMs: number;
}

export function alertSettings(config: Config): AlertSettings {
  const a = config.alerts;
  return Object.freeze({
    thresholds: Object.freeze([...a.thresholds].sort((x, y) => x - y)),
    webhookUrl: a.webhook_url ?? null,
    retries: a.webhook_retries,
    timeoutMs: a.webhook_timeout_ms,
    retryBaseMs: 250,
  });
}

export interface BudgetAlert {
  tag: string;
  threshold: number;
  spend: number;
  maxBudget: number;
  budgetDuration: string;
  windowStart: string;
  resetAt: string;
}

/**
 * Thresholds (fractions of max_budget) crossed by `spend` that were not alerted yet in this
 * window. A soft budget (USD) adds its own fraction. A zero budget blocks everything and has
 * nothing to warn about.
 */
export function crossedThresholds(
  spend: number,
  maxBudget: number,
  thresholds: readonly number[],
  softBudget: number | null,
  delivered: ReadonlySet<number>,
): number[] {
  if (maxBudget <= 0) return [];
  const all = new Set(thresholds);
  if (softBudget !== null) all.add(Math.round((softBudget / maxBudget) * 1e6) / 1e6);
  return [...all].filter((t) => spend >= t * maxBudget && !delivered.has(t)).sort((a, b) => a - b);
}

function usd(v: number): string {
  return `$${v < 1 ? v.toFixed(4) : v.toFixed(2)}`;
}

/** The webhook body: Slack reads `text`; the other fields are for everything else. */
export function alertPayload(a: BudgetAlert): Record<string, unknown> {
  const pct = Math.round(a.threshold * 100);
  const text =
    `tagspend budget alert: tag \`${a.tag}\` reached ${pct}% of its ${a.budgetDuration} budget ` +
    `(${usd(a.spend)} of ${usd(a.maxBudget)}); the window resets ${a.resetAt}` +
    (a.spend >= a.maxBudget ? '. Requests with this tag are now blocked.' : '.');
  return {
    text,
    tag: a.tag,
    threshold: a.threshold,
    spend_usd: a.spend,
    max_budget_usd: a.maxBudget,
    budget_duration: a.budgetDuration,
    window_start: a.windowStart,
    reset_at: a.resetAt,
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
  log.error({ tag: alert.tag, threshold: alert.threshold, error }, 'budget alert webhook failed; the next run tries again');
  return { status: 'failed', attempts, error };
}
