// The spend record: one NDJSON line per request the proxy handled (DESIGN.md).
// This is the product's data and a public contract; the jobs, the DuckDB schema and users'
// own tools read it. Add fields only at the end, never rename or retype one.
// Schema 2 added `cache_write_1h_tokens` (the 1-hour part of cache_write_tokens); a schema 1
// record has none, which means 0.

export const SPEND_SCHEMA_VERSION = 2;

export type Outcome =
  | 'success'
  | 'upstream_error'
  | 'blocked'
  | 'invalid_request'
  | 'client_disconnect'
  | 'proxy_error';

export const OUTCOMES: readonly Outcome[] = [
  'success',
  'upstream_error',
  'blocked',
  'invalid_request',
  'client_disconnect',
  'proxy_error',
];

export interface SpendRecord {
  schema: 2;
  request_id: string;
  /** Request start, ISO-8601 UTC with milliseconds. */
  ts: string;
  end_ts: string;
  latency_ms: number;
  instance: string;
  endpoint: string;
  /** The model as the client asked for it (`openai/gpt-5` or an alias). */
  model: string | null;
  provider: string | null;
  /** The model the provider says it served (`gpt-5-2025-08-07`), else the one sent upstream. */
  upstream_model: string | null;
  stream: boolean;
  /** HTTP status the client received (0 when the client went away first). */
  status: number;
  outcome: Outcome;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cached_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
  /** null when the price of the model is unknown; the jobs can re-price from tokens later. */
  cost_usd: number | null;
  price_ref: string | null;
  tags: string[];
  user: string | null;
  metadata: Record<string, string>;
  key_alias: string | null;
  key_hash: string | null;
  error: string | null;
  /** Schema 2: the part of cache_write_tokens written with a 1-hour lifetime (Anthropic bills it higher). */
  cache_write_1h_tokens: number;
}

/** Token usage in the provider-neutral form pricing and records use. */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** Prompt tokens served from the provider's cache (a subset of prompt_tokens). */
  cached_tokens: number;
  /** Prompt tokens written to the cache (a subset of prompt_tokens; Anthropic bills them higher). */
  cache_write_tokens: number;
  /** The part of cache_write_tokens written for 1 hour rather than 5 minutes (billed higher still). */
  cache_write_1h_tokens: number;
  /** Completion tokens spent on reasoning (a subset of completion_tokens). */
  reasoning_tokens: number;
}

export const ZERO_USAGE: Readonly<Usage> = Object.freeze({
  prompt_tokens: 0,
  completion_tokens: 0,
  total_tokens: 0,
  cached_tokens: 0,
  cache_write_tokens: 0,
  cache_write_1h_tokens: 0,
  reasoning_tokens: 0,
});

/**
 * The most tokens of one kind the proxy records for one request: a billion, about a hundred
 * times the largest context window offered today. A provider that reports more is wrong (the
 * issue's case: 1e300); the proxy records the bound instead, says so in the record's `error`,
 * and counts it (tagspend_usage_clamped_total). At the highest bundled price ($600 per million
 * tokens) the bound costs $600,000, inside the cost bound below.
 */
export const MAX_USAGE_TOKENS = 1_000_000_000;

const USAGE_FIELDS = ['prompt_tokens', 'completion_tokens', 'total_tokens', 'cached_tokens', 'cache_write_tokens', 'cache_write_1h_tokens', 'reasoning_tokens'] as const;

/** Usage with every count within MAX_USAGE_TOKENS, and what was clamped; null when nothing was. */
export function boundUsage(u: Usage): { usage: Usage; clamped: string } | null {
  let out: Usage | null = null;
  let clamped = '';
  for (const f of USAGE_FIELDS) {
    const v = u[f];
    if (v <= MAX_USAGE_TOKENS) continue;
    out ??= { ...u };
    out[f] = MAX_USAGE_TOKENS;
    clamped += `${clamped ? ', ' : ''}${f}=${v}`;
  }
  return out ? { usage: out, clamped } : null;
}

/**
 * Bounds that keep every line loadable into the DuckDB columns (BIGINT, DECIMAL(18,10)): a
 * count is written as a safe integer (|n| < 2^53, far inside BIGINT), a cost below 10^8 USD.
 * The proxy bounds usage and cost before a record is made (src/proxy/recorder.ts, with a note
 * in `error`); the serialiser clamps whatever still falls outside, so no record it writes can
 * be refused by ingest.
 */
export const MAX_RECORD_COST_USD = 99_999_999.99;
const MAX_INT = Number.MAX_SAFE_INTEGER;
const MAX_INT32 = 2_147_483_647;

/** Out-of-range or fractional numbers: NaN and missing are null, the rest truncated and clamped. */
function boundedInt(v: number | null | undefined, max: number): string {
  if (v == null || Number.isNaN(v)) return 'null';
  return String(Math.trunc(Math.max(-max, Math.min(max, v))) || 0);
}

function boundedCost(v: number | null | undefined): string {
  if (v == null || Number.isNaN(v)) return 'null';
  return String(Math.max(-MAX_RECORD_COST_USD, Math.min(MAX_RECORD_COST_USD, v)));
}

// A missing field is written as null, so a line is always valid JSON.
const int = (v: number | null | undefined): string => (Number.isSafeInteger(v) ? String(v) : boundedInt(v, MAX_INT));
const int32 = (v: number | null | undefined): string => (Number.isSafeInteger(v) && Math.abs(v!) <= MAX_INT32 ? String(v) : boundedInt(v, MAX_INT32));
const cost = (v: number | null | undefined): string => (typeof v === 'number' && v < MAX_RECORD_COST_USD && v > -MAX_RECORD_COST_USD ? String(v) : boundedCost(v));
// Lone surrogates (JSON.stringify writes them as \udXXX escapes, which DuckDB refuses) become U+FFFD.
const str = (v: string | null | undefined): string => (v == null ? 'null' : JSON.stringify(v.isWellFormed() ? v : v.toWellFormed()));
const json = (v: unknown): string => JSON.stringify(v) ?? 'null';
/** Plain strings are quoted as they are; anything else is escaped by JSON.stringify. */
const plain = (v: string | null | undefined): string => (v == null ? 'null' : '"' + v + '"');

function escapedTags(tags: readonly string[]): string {
  if (!Array.isArray(tags)) return json(tags);
  let out = '[';
  for (let i = 0; i < tags.length; i++) {
    const t = tags[i];
    out += (i === 0 ? '' : ',') + (typeof t === 'string' ? str(t) : json(t));
  }
  return out + ']';
}

function escapedMap(m: Readonly<Record<string, string>>): string {
  if (typeof m !== 'object' || m === null) return json(m);
  let out = '{';
  for (const k of Object.keys(m)) {
    const v = m[k];
    out += (out.length === 1 ? '' : ',') + str(k) + ':' + (typeof v === 'string' ? str(v) : json(v));
  }
  return out + '}';
}

/** A character JSON.stringify would escape (quote, backslash, control, surrogate). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * Whether any of the record's strings needs escaping (or is not a string). Almost no record
 * does; one scan of them all costs much less than a JSON.stringify call per string.
 */
function needsEscaping(r: SpendRecord): boolean {
  let all =
    r.request_id + r.ts + r.end_ts + r.instance + r.endpoint + (r.model ?? '') + (r.provider ?? '') +
    (r.upstream_model ?? '') + r.outcome + (r.price_ref ?? '') + (r.user ?? '') + (r.key_alias ?? '') +
    (r.key_hash ?? '') + (r.error ?? '');
  for (const t of r.tags) {
    if (typeof t !== 'string') return true;
    all += t;
  }
  const m = r.metadata;
  for (const k in m) {
    const v = m[k];
    if (typeof v !== 'string' || !Object.hasOwn(m, k)) return true;
    all += k + v;
  }
  return NEEDS_ESCAPE.test(all);
}

function plainTags(tags: readonly string[]): string {
  let out = '[';
  for (let i = 0; i < tags.length; i++) out += (i === 0 ? '"' : ',"') + tags[i] + '"';
  return out + ']';
}

function plainMap(m: Readonly<Record<string, string>>): string {
  let out = '{';
  for (const k in m) out += (out.length === 1 ? '"' : ',"') + k + '":"' + m[k] + '"';
  return out + '}';
}

/**
 * One record as its NDJSON line (with the newline). Equal to `JSON.stringify(record) + '\n'`
 * for every valid record (well-formed strings, numbers within the bounds above), in the field
 * order above, but faster: the shape is fixed, and when no string needs escaping (checked once
 * for all of them) strings are written as they are.
 * This runs once per request on the proxy's hot path.
 */
export function serializeRecord(r: SpendRecord): string {
  const escape = needsEscaping(r);
  const q = escape ? str : plain;
  return (
    `{"schema":${int32(r.schema)},"request_id":${q(r.request_id)},"ts":${q(r.ts)},"end_ts":${q(r.end_ts)},` +
    `"latency_ms":${int(r.latency_ms)},"instance":${q(r.instance)},"endpoint":${q(r.endpoint)},` +
    `"model":${q(r.model)},"provider":${q(r.provider)},"upstream_model":${q(r.upstream_model)},` +
    `"stream":${r.stream === true},"status":${int32(r.status)},"outcome":${q(r.outcome)},` +
    `"prompt_tokens":${int(r.prompt_tokens)},"completion_tokens":${int(r.completion_tokens)},` +
    `"total_tokens":${int(r.total_tokens)},"cached_tokens":${int(r.cached_tokens)},` +
    `"cache_write_tokens":${int(r.cache_write_tokens)},"reasoning_tokens":${int(r.reasoning_tokens)},` +
    `"cost_usd":${cost(r.cost_usd)},"price_ref":${q(r.price_ref)},"tags":${escape ? escapedTags(r.tags) : plainTags(r.tags)},` +
    `"user":${q(r.user)},"metadata":${escape ? escapedMap(r.metadata) : plainMap(r.metadata)},"key_alias":${q(r.key_alias)},` +
    `"key_hash":${q(r.key_hash)},"error":${q(r.error)},"cache_write_1h_tokens":${int(r.cache_write_1h_tokens)}}\n`
  );
}
