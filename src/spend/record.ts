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

// A missing field is written as null, so a line is always valid JSON.
const num = (v: number | null | undefined): string => (v == null || !Number.isFinite(v) ? 'null' : String(v));
const str = (v: string | null | undefined): string => (v == null ? 'null' : JSON.stringify(v));
const json = (v: unknown): string => JSON.stringify(v) ?? 'null';
/** Plain strings are quoted as they are; anything else is escaped by JSON.stringify. */
const plain = (v: string | null | undefined): string => (v == null ? 'null' : '"' + v + '"');

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
 * for every valid record, in the field order above, but faster: the shape is fixed, and when
 * no string needs escaping (checked once for all of them) strings are written as they are.
 * This runs once per request on the proxy's hot path.
 */
export function serializeRecord(r: SpendRecord): string {
  const escape = needsEscaping(r);
  const q = escape ? str : plain;
  return (
    `{"schema":${num(r.schema)},"request_id":${q(r.request_id)},"ts":${q(r.ts)},"end_ts":${q(r.end_ts)},` +
    `"latency_ms":${num(r.latency_ms)},"instance":${q(r.instance)},"endpoint":${q(r.endpoint)},` +
    `"model":${q(r.model)},"provider":${q(r.provider)},"upstream_model":${q(r.upstream_model)},` +
    `"stream":${r.stream === true},"status":${num(r.status)},"outcome":${q(r.outcome)},` +
    `"prompt_tokens":${num(r.prompt_tokens)},"completion_tokens":${num(r.completion_tokens)},` +
    `"total_tokens":${num(r.total_tokens)},"cached_tokens":${num(r.cached_tokens)},` +
    `"cache_write_tokens":${num(r.cache_write_tokens)},"reasoning_tokens":${num(r.reasoning_tokens)},` +
    `"cost_usd":${num(r.cost_usd)},"price_ref":${q(r.price_ref)},"tags":${escape ? json(r.tags) : plainTags(r.tags)},` +
    `"user":${q(r.user)},"metadata":${escape ? json(r.metadata) : plainMap(r.metadata)},"key_alias":${q(r.key_alias)},` +
    `"key_hash":${q(r.key_hash)},"error":${q(r.error)},"cache_write_1h_tokens":${num(r.cache_write_1h_tokens)}}\n`
  );
}
