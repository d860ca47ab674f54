// The maintained price data of @pydantic/genai-prices behind tagspend's price lookup. The
// library picks the model within a provider (its match rules, dated ids) and the price in
// force at an instant (dated price changes, time-of-day prices); tagspend turns that price into
// its own per-token rates, long-context tiers included, and prices usage with costOf like any
// other source. The data is the one bundled with the package or one loaded by pricing.refresh;
// it is held here, never in the library's process-wide state, so two tables can differ.
import { calcPrice, waitForUpdate, type MatchLogic, type ModelPrice as LibPrice, type Provider } from '@pydantic/genai-prices';
import { createRequire } from 'node:module';
import type { Found, ModelPrice, PriceSource, PriceTier, Rates } from './pricing.ts';

const NO_USAGE = Object.freeze({});
/** Time-of-day prices change within a day: such a lookup is re-done after this long. */
const TIME_OF_DAY_RECHECK_MS = 60_000;

/** Library price keys tagspend prices with (USD per 1M tokens); the rest (audio, images, searches) are not modelled. */
const RATE_KEYS: ReadonlyArray<readonly [string, keyof Rates]> = [
  ['input_mtok', 'input'],
  ['output_mtok', 'output'],
  ['cache_read_mtok', 'cached_input'],
  ['cache_write_mtok', 'cache_write'],
  ['cache_write_1h_mtok', 'cache_write_1h'],
  ['output_reasoning_mtok', 'reasoning'],
];

/** The version of the installed package: the reference of its bundled data. */
export function bundledVersion(): string {
  const require = createRequire(import.meta.url);
  const main = require.resolve('@pydantic/genai-prices');
  const pkgPath = main.slice(0, main.lastIndexOf('/dist/')) + '/package.json';
  return (require(pkgPath) as { version: string }).version;
}

/** The data bundled with the package (the library's own copy, before any update). */
export async function bundledProviders(): Promise<readonly Provider[]> {
  const data = await waitForUpdate();
  if (!data) throw new Error('@pydantic/genai-prices has no bundled data');
  return data;
}

function matches(logic: MatchLogic, text: string): boolean {
  if ('or' in logic) return logic.or.some((l) => matches(l, text));
  if ('and' in logic) return logic.and.every((l) => matches(l, text));
  if ('equals' in logic) return text === logic.equals.toLowerCase();
  if ('starts_with' in logic) return text.startsWith(logic.starts_with.toLowerCase());
  if ('ends_with' in logic) return text.endsWith(logic.ends_with.toLowerCase());
  if ('contains' in logic) return text.includes(logic.contains.toLowerCase());
  if ('regex' in logic) return new RegExp(logic.regex).test(text);
  return false;
}

function perToken(usdPerMillion: number): number {
  return Number((usdPerMillion / 1_000_000).toPrecision(15));
}

type LibValue = number | { base: number; tiers: readonly { start: number; price: number }[] } | undefined;

function baseOf(v: LibValue): number | undefined {
  if (v === undefined) return undefined;
  return typeof v === 'number' ? v : v.base;
}

/** The library's rate at a prompt size: the last tier whose start the prompt exceeds. */
function rateAt(v: LibValue, promptTokens: number): number | undefined {
  if (v === undefined || typeof v === 'number') return v;
  let rate = v.base;
  for (const t of v.tiers) if (promptTokens > t.start) rate = t.price;
  return rate;
}

function ratesAt(price: LibPrice, promptTokens: number | null): Rates | null {
  const out: Partial<Record<keyof Rates, number>> = {};
  for (const [key, field] of RATE_KEYS) {
    const v = price[key] as LibValue;
    const usd = promptTokens === null ? baseOf(v) : rateAt(v, promptTokens);
    if (usd !== undefined) out[field] = perToken(usd);
  }
  if (out.input === undefined) return null;
  out.output ??= 0; // embeddings have no output price
  return out as Rates;
}

/** A library price as tagspend rates; every tier start of any rate becomes a whole-request tier. */
export function toModelPrice(price: LibPrice): ModelPrice | null {
  const base = ratesAt(price, null);
  if (!base) return null;
  const starts = new Set<number>();
  for (const [key] of RATE_KEYS) {
    const v = price[key] as LibValue;
    if (v !== undefined && typeof v !== 'number') for (const t of v.tiers) starts.add(t.start);
  }
  if (starts.size === 0) return Object.freeze(base);
  const tiers: PriceTier[] = [...starts]
    .sort((a, b) => a - b)
    .map((start) => Object.freeze({ above_prompt_tokens: start, rates: Object.freeze(ratesAt(price, start + 1)!) }));
  return Object.freeze({ ...base, tiers: Object.freeze(tiers) });
}

/** The span around `at` in which the price found stays the same: between dated changes; short for time-of-day prices. */
function validity(prices: unknown, at: number): { from: number; until: number } {
  let from = -Infinity;
  let until = Infinity;
  if (!Array.isArray(prices)) return { from, until };
  for (const p of prices as { constraint?: { type?: string; start_date?: string } }[]) {
    const c = p.constraint;
    if (!c) continue;
    if (c.start_date !== undefined && (c.type === undefined || c.type === 'start_date')) {
      const t = Date.parse(`${c.start_date}T00:00:00Z`);
      if (t > at) until = Math.min(until, t);
      else from = Math.max(from, t);
    } else {
      from = Math.max(from, at);
      until = Math.min(until, at + TIME_OF_DAY_RECHECK_MS);
    }
  }
  return { from, until };
}

/** A price source over one copy of the library's provider data. */
export class GenaiPriceSource implements PriceSource {
  readonly ref: string;
  readonly size: number;
  readonly #providers: readonly Provider[];
  readonly #byId = new Map<string, Provider>();
  /** Configured provider name → library provider (or null), resolved once per name. */
  readonly #providerFor = new Map<string, Provider | null>();

  constructor(providers: readonly Provider[], ref: string) {
    this.#providers = providers;
    this.ref = ref;
    let size = 0;
    for (const p of providers) {
      this.#byId.set(p.id, p);
      size += p.models.length;
    }
    this.size = size;
  }

  /** The library provider a configured provider name means: by id, else the library's own name match. */
  #provider(name: string): Provider | null {
    let p = this.#providerFor.get(name);
    if (p === undefined) {
      p = this.#byId.get(name) ?? this.#providers.find((x) => x.provider_match && matches(x.provider_match, name)) ?? null;
      this.#providerFor.set(name, p);
    }
    return p;
  }

  knows(provider: string): boolean {
    return this.#provider(provider) !== null;
  }

  find(provider: string, model: string, at: number): Found | null {
    const known = provider === '' ? null : this.#provider(provider);
    if (known) return this.#inProvider(known, model, at, true);
    // The mock or a provider of the user's naming: the id names the model (`vendor/model` or bare).
    const slash = model.indexOf('/');
    if (slash > 0) {
      const vendor = this.#provider(model.slice(0, slash));
      return vendor ? this.#inProvider(vendor, model.slice(slash + 1), at, true) : this.find('', model.slice(slash + 1), at);
    }
    const byModel = this.#providers.find((x) => x.model_match && matches(x.model_match, model));
    if (byModel) return this.#inProvider(byModel, model, at, false);
    // Ids the vendors' name rules miss (`text-embedding-3-small`): the first vendor that lists it.
    for (const vendor of this.#providers) {
      const found = vendor.model_match ? this.#inProvider(vendor, model, at, false) : null;
      if (found) return found;
    }
    return null;
  }

  #inProvider(provider: Provider, model: string, at: number, fallbacks: boolean): Found | null {
    // Fallbacks are followed here, within this data, not the library's process-wide copy.
    const own: Provider = provider.fallback_model_providers ? { ...provider, fallback_model_providers: [] } : provider;
    const result = calcPrice(NO_USAGE, model, { provider: own, timestamp: new Date(at) });
    if (result) {
      const price = toModelPrice(result.model_price);
      if (!price) return null;
      return {
        match: Object.freeze({ price, ref: this.ref, id: `${provider.id}/${result.model.id}` }),
        ...validity(result.model.prices, at),
      };
    }
    if (!fallbacks) return null;
    for (const id of provider.fallback_model_providers ?? []) {
      const other = this.#byId.get(id);
      const found = other ? this.#inProvider(other, model, at, false) : null;
      if (found) return found;
    }
    return null;
  }
}

/** Checks that data loaded from a refresh source looks like the library's provider list. */
export function checkProviderData(data: unknown): readonly Provider[] {
  if (!Array.isArray(data) || data.length === 0) throw new Error('expected a non-empty JSON array of providers');
  for (const [i, p] of data.entries()) {
    const ok = typeof p === 'object' && p !== null && typeof p.id === 'string' && Array.isArray(p.models);
    if (!ok) throw new Error(`provider ${i}: expected an object with "id" and "models"`);
  }
  for (const p of data as Provider[]) {
    for (const m of p.models) {
      const ok = typeof m === 'object' && m !== null && typeof m.id === 'string' && typeof m.match === 'object' && m.match !== null;
      if (!ok) throw new Error(`provider ${p.id}: every model needs "id" and "match"`);
      const prices = Array.isArray(m.prices) ? m.prices.map((c) => c?.prices) : [m.prices];
      for (const price of prices) {
        if (typeof price !== 'object' || price === null) throw new Error(`${p.id}/${m.id}: prices must be an object`);
      }
    }
  }
  return data as Provider[];
}
