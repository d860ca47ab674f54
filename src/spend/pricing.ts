// Model prices and the cost of one request. The bundled table (prices.json, dated) can be
// extended or overridden by a file named in config; every match carries the reference of the
// table it came from, so a record's cost can always be traced to the prices used.
// Lookup runs once per request on the proxy's hot path: results are memoised per
// (provider, model) and every regular expression is compiled once, here.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import type { Usage } from './record.ts';

/** USD per token. Optional rates default as costOf documents. */
export interface ModelPrice {
  input: number;
  output: number;
  cached_input?: number;
  cache_write?: number;
  reasoning?: number;
  /** The most output tokens the model can produce in one answer (budget reservations use it). */
  max_output_tokens?: number;
}

/** `ref` is the price table's reference (`builtin:2026-11`, `file:prices.yaml@1a2b3c4d`); `id` the entry that matched. */
export interface PriceMatch {
  price: ModelPrice;
  ref: string;
  id: string;
}

export interface PriceTable {
  readonly ref: string;
  lookup(provider: string | null, model: string): PriceMatch | null;
  size: number;
}

const PER_MILLION = 1_000_000;
/** Memo entries before the memo is dropped: clients choose model strings, so it must not grow without bound. */
const MEMO_LIMIT = 4096;
/** Longer "model ids" are junk; they are neither resolved nor memoised. */
const MAX_MODEL_ID_LENGTH = 256;

// Marketplace vendor slugs (OpenRouter's) that name a provider under another name.
const VENDOR_ALIASES: ReadonlyMap<string, string> = new Map([
  ['google', 'gemini'],
  ['mistralai', 'mistral'],
]);

const YYYY = '20\\d{2}';
const MM = '(?:0[1-9]|1[0-2])';
const DD = '(?:0[1-9]|[12]\\d|3[01])';
/** The suffixes a dated or moving model id carries over its family's id (docs/pricing.md). */
const DATED_SUFFIX = new RegExp(`(?:-${YYYY}-${MM}-${DD}|-${YYYY}${MM}${DD}|@${YYYY}${MM}${DD}|-${MM}-${DD}|-latest)$`);
const MODEL_KEY = /^[^\s/]+\/\S+$/;

const usdPerMillion = z.number().nonnegative();
const entrySchema = z.strictObject({
  input_usd_per_1m: usdPerMillion,
  output_usd_per_1m: usdPerMillion,
  cached_input_usd_per_1m: usdPerMillion.optional(),
  cache_write_usd_per_1m: usdPerMillion.optional(),
  reasoning_usd_per_1m: usdPerMillion.optional(),
  /** The model's output limit in tokens: caps a budget reservation's output estimate. */
  max_output_tokens: z.number().int().positive().optional(),
  /** Other ids of the same model at the same provider (`claude-sonnet-4.5` for `claude-sonnet-4-5`). */
  aliases: z.array(z.string().regex(/^\S+$/, 'must be a model id without spaces')).optional(),
});
const priceFileSchema = z.strictObject({
  source: z.string().optional(),
  as_of: z.iso.date().optional(),
  unit: z.literal('USD per 1M tokens').optional(),
  notes: z.string().optional(),
  models: z.record(z.string(), entrySchema),
});
type PriceFile = z.output<typeof priceFileSchema>;

function canonicalProvider(provider: string): string {
  const lower = provider.trim().toLowerCase();
  return VENDOR_ALIASES.get(lower) ?? lower;
}

/** `openai/GPT-4o` → `openai/gpt-4o`, `google/x` → `gemini/x`. */
function canonicalKey(key: string): string {
  const slash = key.indexOf('/');
  return `${canonicalProvider(key.slice(0, slash))}/${key.slice(slash + 1).toLowerCase()}`;
}

function stripDatedSuffix(model: string): string {
  return model.replace(DATED_SUFFIX, '');
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (typeof part === 'string' && /^[A-Za-z_][\w]*$/.test(part)) out += out ? `.${part}` : part;
    else out += `[${JSON.stringify(String(part))}]`;
  }
  return out || '(root)';
}

/** Per 1M → per token; 15 significant digits keep 0.1/1e6 at 1e-7 rather than 1.0000000000000001e-7. */
function perToken(usdPerMillion: number): number {
  return Number((usdPerMillion / PER_MILLION).toPrecision(15));
}

function toPrice(e: z.output<typeof entrySchema>): ModelPrice {
  const price: ModelPrice = { input: perToken(e.input_usd_per_1m), output: perToken(e.output_usd_per_1m) };
  if (e.cached_input_usd_per_1m !== undefined) price.cached_input = perToken(e.cached_input_usd_per_1m);
  if (e.cache_write_usd_per_1m !== undefined) price.cache_write = perToken(e.cache_write_usd_per_1m);
  if (e.reasoning_usd_per_1m !== undefined) price.reasoning = perToken(e.reasoning_usd_per_1m);
  if (e.max_output_tokens !== undefined) price.max_output_tokens = e.max_output_tokens;
  return Object.freeze(price);
}

/** The entries of one price file, keyed canonically, with their aliases; problems are collected, not thrown. */
interface ParsedPrices {
  file: PriceFile;
  entries: Map<string, PriceMatch>;
  aliases: Map<string, string>;
}

function parsePrices(data: unknown, ref: string, label: string, problems: string[]): ParsedPrices | null {
  const result = priceFileSchema.safeParse(data);
  const before = problems.length;
  if (!result.success) {
    for (const issue of result.error.issues) problems.push(`${label}: ${formatPath(issue.path)}: ${issue.message}`);
  }
  // Keys are checked here rather than by the schema so a bad key does not hide its value's problems.
  const models = data !== null && typeof data === 'object' ? (data as { models?: unknown }).models : undefined;
  const rawKeys = models !== null && typeof models === 'object' ? Object.keys(models) : [];
  const owner = new Map<string, string>();
  for (const raw of rawKeys) {
    if (!MODEL_KEY.test(raw)) {
      problems.push(`${label}: models[${JSON.stringify(raw)}]: key must be "<provider>/<model>"`);
      continue;
    }
    const key = canonicalKey(raw);
    const clash = owner.get(key);
    if (clash !== undefined) problems.push(`${label}: models[${JSON.stringify(raw)}]: same model as "${clash}"`);
    else owner.set(key, raw);
  }
  if (!result.success || problems.length > before) return null;

  const entries = new Map<string, PriceMatch>();
  const aliases = new Map<string, string>();
  for (const [raw, entry] of Object.entries(result.data.models)) {
    const id = canonicalKey(raw);
    entries.set(id, Object.freeze({ price: toPrice(entry), ref, id }));
  }
  for (const [raw, entry] of Object.entries(result.data.models)) {
    const id = canonicalKey(raw);
    const provider = id.slice(0, id.indexOf('/'));
    for (const alias of entry.aliases ?? []) {
      const aliasId = `${provider}/${alias.toLowerCase()}`;
      const taken = entries.has(aliasId) ? aliasId : aliases.get(aliasId);
      if (taken !== undefined && taken !== id) {
        problems.push(`${label}: models[${JSON.stringify(raw)}].aliases: "${alias}" already names "${taken}"`);
      } else if (aliasId !== id) {
        aliases.set(aliasId, id);
      }
    }
  }
  return problems.length > before ? null : { file: result.data, entries, aliases };
}

/** The bundled table: its reference is `builtin:<YYYY-MM>` of the date the prices were taken. */
function loadBuiltin(problems: string[]): { parsed: ParsedPrices | null; ref: string } {
  const label = 'bundled price table (src/spend/prices.json)';
  const data: unknown = JSON.parse(readFileSync(new URL('./prices.json', import.meta.url), 'utf8'));
  const asOf = (data as { as_of?: unknown }).as_of;
  if (typeof asOf !== 'string') problems.push(`${label}: as_of: required`);
  const ref = `builtin:${typeof asOf === 'string' ? asOf.slice(0, 7) : 'unknown'}`;
  return { parsed: parsePrices(data, ref, label, problems), ref };
}

function loadOverrides(path: string, problems: string[]): { parsed: ParsedPrices | null; ref: string } {
  const label = `pricing.overrides_file ${path}`;
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    problems.push(`${label}: cannot read: ${(err as Error).message}`);
    return { parsed: null, ref: '' };
  }
  const ref = `file:${basename(path)}@${createHash('sha256').update(bytes).digest('hex').slice(0, 8)}`;
  let data: unknown;
  try {
    const text = bytes.toString('utf8');
    data = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    problems.push(`${label}: cannot parse: ${(err as Error).message}`);
    return { parsed: null, ref };
  }
  return { parsed: parsePrices(data, ref, label, problems), ref };
}

class MergedPriceTable implements PriceTable {
  readonly ref: string;
  readonly size: number;
  /** `provider/model` (ids and aliases) → match. */
  readonly #ids = new Map<string, PriceMatch>();
  /** Bare model id → match, or null when two providers use the id (then a provider is required). */
  readonly #names = new Map<string, PriceMatch | null>();
  /** Providers with entries of their own: their unknown ids are not looked up under other providers. */
  readonly #vendors = new Set<string>();
  readonly #memo = new Map<string, Map<string, PriceMatch | null>>();
  #memoSize = 0;

  constructor(ref: string, layers: readonly ParsedPrices[]) {
    this.ref = ref;
    const entries = new Map<string, PriceMatch>();
    const aliases = new Map<string, string>();
    for (const layer of layers) {
      for (const [id, match] of layer.entries) entries.set(id, match);
      for (const [alias, id] of layer.aliases) aliases.set(alias, id);
    }
    for (const [id, match] of entries) this.#ids.set(id, match);
    // Aliases point at ids, so an override of an id also re-prices its aliases; exact ids win over aliases.
    for (const [alias, id] of aliases) if (!entries.has(alias)) this.#ids.set(alias, entries.get(id)!);
    const nameOwner = new Map<string, string>();
    for (const [id, match] of this.#ids) {
      const slash = id.indexOf('/');
      const provider = id.slice(0, slash);
      const name = id.slice(slash + 1);
      this.#vendors.add(provider);
      const owner = nameOwner.get(name);
      if (owner === undefined) {
        nameOwner.set(name, provider);
        this.#names.set(name, match);
      } else if (owner !== provider) {
        this.#names.set(name, null);
      }
    }
    this.size = entries.size;
  }

  lookup(provider: string | null, model: string): PriceMatch | null {
    if (model.length > MAX_MODEL_ID_LENGTH) return null;
    const p = provider ?? '';
    let byModel = this.#memo.get(p);
    const memoised = byModel?.get(model);
    if (memoised !== undefined) return memoised;
    const found = this.#resolve(p, model);
    if (this.#memoSize >= MEMO_LIMIT) {
      this.#memo.clear();
      this.#memoSize = 0;
      byModel = undefined;
    }
    if (byModel === undefined) {
      byModel = new Map();
      this.#memo.set(p, byModel);
    }
    byModel.set(model, found);
    this.#memoSize += 1;
    return found;
  }

  #resolve(provider: string, model: string): PriceMatch | null {
    let m = model.trim().toLowerCase();
    // Gemini's resource form of a model id.
    if (m.startsWith('models/')) m = m.slice('models/'.length);
    if (m === '') return null;
    return provider.trim() === '' ? this.#bare(m) : this.#under(canonicalProvider(provider), m);
  }

  /** A model served by `provider`: its own entry, else (for resellers, `mock`, unknown providers) the id it names. */
  #under(provider: string, model: string): PriceMatch | null {
    const m = model.startsWith(`${provider}/`) ? model.slice(provider.length + 1) : model;
    const exact = this.#ids.get(`${provider}/${m}`);
    if (exact !== undefined) return exact;
    const family = stripDatedSuffix(m);
    if (family !== m) {
      const dated = this.#ids.get(`${provider}/${family}`);
      if (dated !== undefined) return dated;
    }
    if (this.#vendors.has(provider) && !m.includes('/')) return null;
    return this.#bare(m);
  }

  /** `vendor/model` resolves under the vendor; a bare id resolves when one provider alone lists it. */
  #bare(model: string): PriceMatch | null {
    const slash = model.indexOf('/');
    if (slash > 0) {
      const found = this.#under(canonicalProvider(model.slice(0, slash)), model.slice(slash + 1));
      if (found !== null) return found;
    }
    const named = this.#names.get(model);
    if (named !== undefined) return named;
    const family = stripDatedSuffix(model);
    return family === model ? null : (this.#names.get(family) ?? null);
  }
}

/**
 * The bundled table plus, when given, the overrides file (its entries replace or add to the
 * bundled ones). Every problem in either is reported in one ConfigError.
 */
export function loadPriceTable(options: { overridesFile?: string } = {}): PriceTable {
  const problems: string[] = [];
  const builtin = loadBuiltin(problems);
  const layers: ParsedPrices[] = builtin.parsed ? [builtin.parsed] : [];
  let ref = builtin.ref;
  if (options.overridesFile !== undefined) {
    const overrides = loadOverrides(options.overridesFile, problems);
    if (overrides.parsed) layers.push(overrides.parsed);
    ref = `${ref}+${overrides.ref}`;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return new MergedPriceTable(ref, layers);
}

function tokens(n: number): number {
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/**
 * USD for one request. prompt_tokens include cached and cache-write tokens, completion_tokens
 * include reasoning tokens (OpenAI's convention, which the provider adapters normalise to), so
 * each token is charged once: uncached input at `input`, cache reads at `cached_input`, cache
 * writes at `cache_write` (both default to `input`), reasoning at `reasoning` (default `output`),
 * the rest of the completion at `output`. Rounded to 10 decimals to drop float noise.
 */
/** The price the proxy would have used for a record: the served model first, then the one asked for. */
export function priceFor(prices: PriceTable, provider: string | null, model: string | null, upstream: string | null): PriceMatch | null {
  for (const candidate of [upstream, model]) {
    if (candidate === null) continue;
    const match = prices.lookup(provider, candidate);
    if (match !== null) return match;
  }
  return null;
}

export function costOf(usage: Usage, price: ModelPrice): number {
  const prompt = tokens(usage.prompt_tokens);
  const cached = Math.min(tokens(usage.cached_tokens), prompt);
  const cacheWrite = Math.min(tokens(usage.cache_write_tokens), prompt - cached);
  const completion = tokens(usage.completion_tokens);
  const reasoning = Math.min(tokens(usage.reasoning_tokens), completion);
  const usd =
    (prompt - cached - cacheWrite) * price.input +
    cached * (price.cached_input ?? price.input) +
    cacheWrite * (price.cache_write ?? price.input) +
    (completion - reasoning) * price.output +
    reasoning * (price.reasoning ?? price.output);
  return Math.round(usd * 1e10) / 1e10;
}

/** USD of one request split as LiteLLM's x-litellm-response-cost-* headers split it. */
export interface CostParts {
  /** Uncached prompt tokens. */
  input: number;
  cacheRead: number;
  cacheCreation: number;
  /** All completion tokens, reasoning included. */
  output: number;
  /** The reasoning share of `output` (a subset, never added to the total). */
  reasoning: number;
}

/**
 * The parts of costOf: input + cacheRead + cacheCreation + output equals costOf to within the
 * 10-decimal rounding each part gets; reasoning is inside output.
 */
export function costParts(usage: Usage, price: ModelPrice): CostParts {
  const prompt = tokens(usage.prompt_tokens);
  const cached = Math.min(tokens(usage.cached_tokens), prompt);
  const cacheWrite = Math.min(tokens(usage.cache_write_tokens), prompt - cached);
  const completion = tokens(usage.completion_tokens);
  const reasoningTokens = Math.min(tokens(usage.reasoning_tokens), completion);
  const r = (usd: number) => Math.round(usd * 1e10) / 1e10;
  const reasoning = reasoningTokens * (price.reasoning ?? price.output);
  return {
    input: r((prompt - cached - cacheWrite) * price.input),
    cacheRead: r(cached * (price.cached_input ?? price.input)),
    cacheCreation: r(cacheWrite * (price.cache_write ?? price.input)),
    output: r((completion - reasoningTokens) * price.output + reasoning),
    reasoning: r(reasoning),
  };
}
