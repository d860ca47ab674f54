// Model prices and the cost of one request. Prices come in layers, each with its reference:
// the overrides file named in config, tagspend's bundled corrections, and the maintained price
// data of @pydantic/genai-prices (bundled with the package, or loaded by pricing.refresh). The
// first layer that knows a model prices it, and every match carries the reference of the layer
// it came from, so a record's cost can always be traced to the prices used (docs/pricing.md).
// Lookup runs once per request on the proxy's hot path: results are memoised per
// (provider, model) for as long as the price stays in force.
import { ConfigError } from '../errors.ts';
import { bundledProviders, bundledVersion, GenaiPriceSource } from './genai-prices.ts';
import { canonicalProvider, FilePriceSource, loadCorrections, loadOverrides, stripDatedSuffix, type ParsedPrices } from './price-file.ts';
import type { Usage } from './record.ts';
import type { Provider } from '@pydantic/genai-prices';

/** USD per token. Optional rates default as costOf documents. */
export interface Rates {
  input: number;
  output: number;
  /** Cache reads. */
  cached_input?: number;
  /** Cache writes (Anthropic: the 5-minute lifetime). */
  cache_write?: number;
  /** Cache writes with a 1-hour lifetime. */
  cache_write_1h?: number;
  reasoning?: number;
}

/** Rates for a request whose prompt (cache reads and writes included) is above `above_prompt_tokens`. */
export interface PriceTier {
  above_prompt_tokens: number;
  rates: Rates;
}

export interface ModelPrice extends Rates {
  /** Long-context tiers in ascending order: the last one the prompt is above prices the whole request. */
  tiers?: readonly PriceTier[];
  /** The most output tokens the model can produce in one answer (budget reservations use it). */
  max_output_tokens?: number;
}

/** `ref` is the layer's reference (`genai-prices:0.1.8`, `file:prices.yaml@1a2b3c4d`); `id` the entry that matched. */
export interface PriceMatch {
  price: ModelPrice;
  ref: string;
  id: string;
}

export interface PriceTable {
  readonly ref: string;
  /** The price of `model` served by `provider` in force at `at` (ms since the epoch, default now). */
  lookup(provider: string | null, model: string, at?: number): PriceMatch | null;
  readonly size: number;
}

/** A match and the span in which it holds ([-Infinity, Infinity) when the price is not dated). */
export interface Found {
  match: PriceMatch;
  from: number;
  until: number;
}

/** One layer of prices; `provider` and `model` come canonical (lower case, trimmed). */
export interface PriceSource {
  readonly ref: string;
  readonly size: number;
  /** Whether this layer has prices of its own for the provider. */
  knows(provider: string): boolean;
  /** `knownElsewhere`: another layer has prices of its own for the provider (no borrowing by bare model name then). */
  find(provider: string, model: string, at: number, knownElsewhere: boolean): Found | null;
}

/** Memo entries before the memo is dropped: clients choose model strings, so it must not grow without bound. */
const MEMO_LIMIT = 4096;
/** Longer "model ids" are junk; they are neither resolved nor memoised. */
const MAX_MODEL_ID_LENGTH = 256;

interface Memo {
  match: PriceMatch | null;
  /** The span the match holds for; a lookup outside it is resolved again. */
  from: number;
  until: number;
}

/** The first layer that knows a model prices it. */
export class LayeredPriceTable implements PriceTable {
  readonly ref: string;
  readonly size: number;
  readonly #layers: readonly PriceSource[];
  readonly #clock: () => number;
  readonly #memo = new Map<string, Map<string, Memo>>();
  #memoSize = 0;

  constructor(layers: readonly PriceSource[], clock: () => number = Date.now) {
    this.#layers = layers;
    this.#clock = clock;
    this.ref = layers.map((l) => l.ref).join('+');
    this.size = layers.reduce((n, l) => n + l.size, 0);
  }

  lookup(provider: string | null, model: string, at?: number): PriceMatch | null {
    if (model.length > MAX_MODEL_ID_LENGTH) return null;
    const when = at ?? this.#clock();
    const p = provider ?? '';
    let byModel = this.#memo.get(p);
    const memo = byModel?.get(model);
    if (memo !== undefined && when >= memo.from && when < memo.until) return memo.match;
    const { match, from, until } = this.#resolve(p, model, when);
    if (this.#memoSize >= MEMO_LIMIT) {
      this.#memo.clear();
      this.#memoSize = 0;
      byModel = undefined;
    }
    if (byModel === undefined) {
      byModel = new Map();
      this.#memo.set(p, byModel);
    }
    if (!byModel.has(model)) this.#memoSize += 1;
    byModel.set(model, { match, from, until });
    return match;
  }

  /** The first layer's match; an unknown model stays unknown until the table is replaced. */
  #resolve(provider: string, model: string, at: number): { match: PriceMatch | null; from: number; until: number } {
    const unknown = { match: null, from: -Infinity, until: Infinity };
    let m = model.trim().toLowerCase();
    // Gemini's resource form of a model id.
    if (m.startsWith('models/')) m = m.slice('models/'.length);
    if (m === '') return unknown;
    const p = provider.trim() === '' ? '' : canonicalProvider(provider);
    if (p !== '' && m.startsWith(`${p}/`)) m = m.slice(p.length + 1);
    const known = p !== '' && this.#layers.some((l) => l.knows(p));
    for (const layer of this.#layers) {
      const found = layer.find(p, m, at, known);
      if (found) return found;
    }
    // A dated snapshot no layer lists is priced as its model (`gpt-4o-mini-2025-01-01` as `gpt-4o-mini`).
    const family = stripDatedSuffix(m);
    if (family !== m) {
      for (const layer of this.#layers) {
        const found = layer.find(p, family, at, known);
        if (found) return found;
      }
    }
    return unknown;
  }
}

export interface PriceTableOptions {
  overridesFile?: string | undefined;
  /** Provider data from pricing.refresh, with its reference; default: the data bundled with the library. */
  data?: { providers: readonly Provider[]; ref: string } | undefined;
  clock?: () => number;
}

/**
 * The overrides file (when given) over the bundled corrections over the genai-prices data.
 * Every problem in the files is reported in one ConfigError.
 */
export async function loadPriceTable(options: PriceTableOptions = {}): Promise<PriceTable> {
  const problems: string[] = [];
  const files: ParsedPrices[] = [];
  const corrections = loadCorrections(problems);
  if (corrections.parsed) files.push(corrections.parsed);
  let fileRef = corrections.ref;
  if (options.overridesFile !== undefined) {
    const overrides = loadOverrides(options.overridesFile, problems);
    if (overrides.parsed) files.push(overrides.parsed);
    fileRef = `${overrides.ref}+${fileRef}`;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const data = options.data ?? { providers: await bundledProviders(), ref: `genai-prices:${bundledVersion()}` };
  const layers = [new FilePriceSource(fileRef, files), new GenaiPriceSource(data.providers, data.ref)];
  return new LayeredPriceTable(layers, options.clock);
}

function tokens(n: number): number {
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/** The rates for a prompt of this size: the last tier it is above, else the base rates. */
function ratesFor(price: ModelPrice, prompt: number): Rates {
  const tiers = price.tiers;
  if (tiers === undefined) return price;
  let rates: Rates = price;
  for (const t of tiers) if (prompt > t.above_prompt_tokens) rates = t.rates;
  return rates;
}

/**
 * USD for one request. prompt_tokens include cached and cache-write tokens, completion_tokens
 * include reasoning tokens (OpenAI's convention, which the provider adapters normalise to), and
 * cache_write_tokens include the 1-hour writes, so each token is charged once: uncached input
 * at `input`, cache reads at `cached_input`, 5-minute writes at `cache_write` (both default to
 * `input`), 1-hour writes at `cache_write_1h` (default `cache_write`), reasoning at `reasoning`
 * (default `output`), the rest of the completion at `output`. A prompt above a tier's size is
 * priced whole at that tier's rates. Rounded to 10 decimals to drop float noise.
 */
export function costOf(usage: Usage, price: ModelPrice): number {
  const prompt = tokens(usage.prompt_tokens);
  const cached = Math.min(tokens(usage.cached_tokens), prompt);
  const cacheWrite = Math.min(tokens(usage.cache_write_tokens), prompt - cached);
  const write1h = Math.min(tokens(usage.cache_write_1h_tokens), cacheWrite);
  const completion = tokens(usage.completion_tokens);
  const reasoning = Math.min(tokens(usage.reasoning_tokens), completion);
  const r = ratesFor(price, prompt);
  const write5m = r.cache_write ?? r.input;
  const usd =
    (prompt - cached - cacheWrite) * r.input +
    cached * (r.cached_input ?? r.input) +
    (cacheWrite - write1h) * write5m +
    write1h * (r.cache_write_1h ?? write5m) +
    (completion - reasoning) * r.output +
    reasoning * (r.reasoning ?? r.output);
  return Math.round(usd * 1e10) / 1e10;
}

/** The price the proxy would have used for a record: the served model first, then the one asked for. */
export function priceFor(prices: PriceTable, provider: string | null, model: string | null, upstream: string | null, at?: number): PriceMatch | null {
  for (const candidate of [upstream, model]) {
    if (candidate === null) continue;
    const match = prices.lookup(provider, candidate, at);
    if (match !== null) return match;
  }
  return null;
}

/** USD of one request split as LiteLLM's x-litellm-response-cost-* headers split it. */
export interface CostParts {
  /** Uncached prompt tokens. */
  input: number;
  cacheRead: number;
  /** Cache writes, 5-minute and 1-hour. */
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
  const write1h = Math.min(tokens(usage.cache_write_1h_tokens), cacheWrite);
  const completion = tokens(usage.completion_tokens);
  const reasoningTokens = Math.min(tokens(usage.reasoning_tokens), completion);
  const rates = ratesFor(price, prompt);
  const write5m = rates.cache_write ?? rates.input;
  const r = (usd: number) => Math.round(usd * 1e10) / 1e10;
  const reasoning = reasoningTokens * (rates.reasoning ?? rates.output);
  return {
    input: r((prompt - cached - cacheWrite) * rates.input),
    cacheRead: r(cached * (rates.cached_input ?? rates.input)),
    cacheCreation: r((cacheWrite - write1h) * write5m + write1h * (rates.cache_write_1h ?? write5m)),
    output: r((completion - reasoningTokens) * rates.output + reasoning),
    reasoning: r(reasoning),
  };
}
