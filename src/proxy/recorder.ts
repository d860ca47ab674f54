// The spend record of one request: what the handler learned along the way (a Draft) is
// priced and written as exactly one record, and the metrics and the budget gate are told.
import type { BudgetGate, Reservation } from '../budget/gate.ts';
import { BudgetExceededError, SpendLogUnavailableError, TagspendError, UpstreamError } from '../errors.ts';
import { costOf, type PriceMatch, type PriceTable } from '../spend/pricing.ts';
import { boundUsage, MAX_RECORD_COST_USD, MAX_USAGE_TOKENS, SPEND_SCHEMA_VERSION, ZERO_USAGE, type Outcome, type SpendRecord, type Usage } from '../spend/record.ts';
import { isoTimestamp } from '../spend/timestamp.ts';
import type { SpendWriter } from '../spool/writer.ts';
import type { Principal } from './auth.ts';
import type { ProxyMetrics } from './metrics.ts';
import type { Route } from './router.ts';
import type { SecretScrubber } from './secrets.ts';

/** What is known about a request so far; every field has its "not known yet" value. */
export interface Draft {
  startMs: number;
  requestId: string;
  endpoint: string;
  model: string | null;
  route: Route | null;
  upstreamModel: string | null;
  stream: boolean;
  tags: string[];
  user: string | null;
  metadata: Record<string, string>;
  principal: Principal | null;
  usage: Usage | null;
  /** Held against the budgets the request touches until its record is written (admission.ts). */
  reservation: Reservation | null;
  /** The price the record's cost came from (for the x-litellm-response-cost-* parts). */
  price: PriceMatch | null;
  /** Its one record was written (or deferred); a second record() call does nothing. */
  recorded?: boolean;
}

export interface Priced {
  cost: number | null;
  ref: string | null;
}

export interface RecorderDeps {
  instance: string;
  prices: PriceTable;
  writer: SpendWriter;
  metrics: ProxyMetrics;
  budget: BudgetGate | null;
  clock: () => number;
  secrets: SecretScrubber;
}

export class ClientGoneError extends Error {
  constructor() {
    super('client disconnected');
    this.name = 'ClientGoneError';
  }
}

/** Longest model name kept in a record (a client may send megabytes of "model"). */
export const MAX_RECORDED_MODEL_LENGTH = 1024;

const UNPRICED: Priced = Object.freeze({ cost: null, ref: null });

function clip(s: string | null): string | null {
  return s !== null && s.length > MAX_RECORDED_MODEL_LENGTH ? s.slice(0, MAX_RECORDED_MODEL_LENGTH) : s;
}

const FREE: Priced = Object.freeze({ cost: 0, ref: null });

function withNote(error: string | null, note: string): string {
  return error === null ? note : `${error}; ${note}`;
}

/** Writes a draft's record; returns its cost (null when unknown). */
export type Recorder = (d: Draft, outcome: Outcome, status: number, error: string | null, priced?: Priced) => number | null;

export function createRecorder(deps: RecorderDeps): Recorder {
  function price(d: Draft): Priced {
    if (!d.route || !d.usage) return UNPRICED;
    const match = deps.prices.lookup(d.route.provider.name, d.upstreamModel ?? d.route.upstreamModel, d.startMs);
    if (!match) return UNPRICED;
    d.price = match;
    return { cost: costOf(d.usage, match.price), ref: match.ref };
  }

  return function record(d, outcome, status, error, priced) {
    if (d.recorded) return null;
    d.recorded = true;
    const endMs = deps.clock();
    if (d.usage) {
      // Absurd counts from a provider are recorded at the bound, never as numbers no column holds.
      const bounded = boundUsage(d.usage);
      if (bounded) {
        d.usage = bounded.usage;
        error = withNote(error, `provider reported ${bounded.clamped}; recorded as at most ${MAX_USAGE_TOKENS} tokens each`);
        deps.metrics.usageClamped.inc();
      }
    }
    const usage = d.usage ?? ZERO_USAGE;
    // No usage on a success means the cost is unknown (null); a failure without usage cost nothing.
    let p = priced ?? (d.usage || outcome === 'success' ? price(d) : FREE);
    if (p.cost !== null && p.cost > MAX_RECORD_COST_USD) {
      error = withNote(error, `cost ${p.cost} USD is above the record bound; recorded as ${MAX_RECORD_COST_USD}`);
      p = { cost: MAX_RECORD_COST_USD, ref: p.ref };
      deps.metrics.usageClamped.inc();
    }
    // Settled before the write: a failing write must not leave the reservation held.
    deps.budget?.settle(d.reservation, p.cost, endMs);
    const rec: SpendRecord = {
      schema: SPEND_SCHEMA_VERSION,
      request_id: d.requestId,
      ts: isoTimestamp(d.startMs),
      end_ts: isoTimestamp(endMs),
      latency_ms: endMs - d.startMs,
      instance: deps.instance,
      endpoint: d.endpoint,
      model: clip(d.model),
      provider: d.route?.provider.name ?? null,
      upstream_model: clip(d.upstreamModel ?? d.route?.upstreamModel ?? null),
      stream: d.stream,
      status,
      outcome,
      prompt_tokens: usage.prompt_tokens,
      completion_tokens: usage.completion_tokens,
      total_tokens: usage.total_tokens,
      cached_tokens: usage.cached_tokens,
      cache_write_tokens: usage.cache_write_tokens,
      reasoning_tokens: usage.reasoning_tokens,
      cost_usd: p.cost,
      price_ref: p.ref,
      tags: d.tags,
      user: d.user,
      metadata: d.metadata,
      key_alias: d.principal?.alias ?? null,
      key_hash: d.principal?.keyHash ?? null,
      error: error === null ? null : deps.secrets.scrub(error).slice(0, 1000),
      cache_write_1h_tokens: usage.cache_write_1h_tokens,
    };
    let unwritten: unknown = null;
    try {
      deps.writer.write(rec);
    } catch (err) {
      if (!(err instanceof SpendLogUnavailableError)) throw err;
      // The client will not get this answer (507, or a cut stream): the record says so, and waits
      // in memory until the disk takes it. The spend, if any, happened all the same.
      deps.writer.defer({ ...rec, outcome: 'proxy_error', status: 507, error: withNote(rec.error, err.message).slice(0, 1000) });
      unwritten = err;
    }
    deps.metrics.observeRequest(rec);
    if (unwritten) throw unwritten;
    return p.cost;
  };
}

export function outcomeOf(err: unknown): Outcome {
  if (err instanceof ClientGoneError) return 'client_disconnect';
  if (err instanceof BudgetExceededError) return 'blocked';
  if (err instanceof UpstreamError || (err instanceof TagspendError && err.code.startsWith('UPSTREAM'))) return 'upstream_error';
  if (err instanceof TagspendError && err.status < 500) return 'invalid_request';
  return 'proxy_error';
}
