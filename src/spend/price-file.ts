// tagspend's own price files: the overrides file a user names in config and the bundled
// corrections (entries checked against the providers' published prices where the maintained
// data is wrong or missing). Both have one format (USD per 1M tokens, aliases, long-context
// tiers) and are merged into one source: an entry replaces the one below it as a whole.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { Found, ModelPrice, PriceMatch, PriceSource, PriceTier, Rates } from './pricing.ts';

const PER_MILLION = 1_000_000;

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
/** Rates for requests whose prompt (cache reads and writes included) is above a size; unset rates keep the base rate. */
const tierSchema = z.strictObject({
  above_prompt_tokens: z.number().int().positive(),
  input_usd_per_1m: usdPerMillion.optional(),
  output_usd_per_1m: usdPerMillion.optional(),
  cached_input_usd_per_1m: usdPerMillion.optional(),
  cache_write_usd_per_1m: usdPerMillion.optional(),
  cache_write_1h_usd_per_1m: usdPerMillion.optional(),
  reasoning_usd_per_1m: usdPerMillion.optional(),
});
const entrySchema = z.strictObject({
  input_usd_per_1m: usdPerMillion,
  output_usd_per_1m: usdPerMillion,
  cached_input_usd_per_1m: usdPerMillion.optional(),
  cache_write_usd_per_1m: usdPerMillion.optional(),
  cache_write_1h_usd_per_1m: usdPerMillion.optional(),
  reasoning_usd_per_1m: usdPerMillion.optional(),
  /** The model's output limit in tokens: caps a budget reservation's output estimate. */
  max_output_tokens: z.number().int().positive().optional(),
  tiers: z
    .array(tierSchema)
    .refine((t) => t.every((x, i) => i === 0 || x.above_prompt_tokens > t[i - 1]!.above_prompt_tokens), 'must be in ascending above_prompt_tokens order')
    .optional(),
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

export function canonicalProvider(provider: string): string {
  const lower = provider.trim().toLowerCase();
  return VENDOR_ALIASES.get(lower) ?? lower;
}

/** `openai/GPT-4o` → `openai/gpt-4o`, `google/x` → `gemini/x`. */
function canonicalKey(key: string): string {
  const slash = key.indexOf('/');
  return `${canonicalProvider(key.slice(0, slash))}/${key.slice(slash + 1).toLowerCase()}`;
}

export function stripDatedSuffix(model: string): string {
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

type RateEntry = z.output<typeof tierSchema>;

/** Rates of an entry or a tier; a tier's unset rates are the base's. */
function toRates(e: RateEntry, base: Rates | null): Rates {
  const rates: Rates = {
    input: e.input_usd_per_1m !== undefined ? perToken(e.input_usd_per_1m) : base!.input,
    output: e.output_usd_per_1m !== undefined ? perToken(e.output_usd_per_1m) : base!.output,
  };
  const optional = [
    ['cached_input', e.cached_input_usd_per_1m],
    ['cache_write', e.cache_write_usd_per_1m],
    ['cache_write_1h', e.cache_write_1h_usd_per_1m],
    ['reasoning', e.reasoning_usd_per_1m],
  ] as const;
  for (const [field, v] of optional) {
    const rate = v !== undefined ? perToken(v) : base?.[field];
    if (rate !== undefined) rates[field] = rate;
  }
  return rates;
}

function toPrice(e: z.output<typeof entrySchema>): ModelPrice {
  const base: ModelPrice = toRates({ ...e, above_prompt_tokens: 0 }, null);
  if (e.max_output_tokens !== undefined) base.max_output_tokens = e.max_output_tokens;
  if (!e.tiers?.length) return Object.freeze(base);
  const tiers: PriceTier[] = e.tiers.map((t) => Object.freeze({ above_prompt_tokens: t.above_prompt_tokens, rates: Object.freeze(toRates(t, base)) }));
  return Object.freeze({ ...base, tiers: Object.freeze(tiers) });
}

/** The entries of one price file, keyed canonically, with their aliases; problems are collected, not thrown. */
export interface ParsedPrices {
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

/** The bundled corrections: their reference is `tagspend:<as_of>`, the date they were checked. */
export function loadCorrections(problems: string[]): { parsed: ParsedPrices | null; ref: string } {
  const label = 'bundled price corrections (src/spend/price-corrections.json)';
  const data: unknown = JSON.parse(readFileSync(new URL('./price-corrections.json', import.meta.url), 'utf8'));
  const asOf = (data as { as_of?: unknown }).as_of;
  if (typeof asOf !== 'string') problems.push(`${label}: as_of: required`);
  const ref = `tagspend:${typeof asOf === 'string' ? asOf : 'unknown'}`;
  return { parsed: parsePrices(data, ref, label, problems), ref };
}

export function loadOverrides(path: string, problems: string[]): { parsed: ParsedPrices | null; ref: string } {
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

/** The file layers merged, an entry replacing the one with its id below it; looked up by tagspend's id rules (docs/pricing.md). */
export class FilePriceSource implements PriceSource {
  readonly ref: string;
  readonly size: number;
  /** `provider/model` (ids and aliases) → match. */
  readonly #ids = new Map<string, PriceMatch>();
  /** Bare model id → match, or null when two providers use the id (then a provider is required). */
  readonly #names = new Map<string, PriceMatch | null>();
  /** Providers with entries of their own: their unknown ids are not looked up under other providers. */
  readonly #vendors = new Set<string>();

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

  knows(provider: string): boolean {
    return this.#vendors.has(provider);
  }

  /** `provider` and `model` come canonical (lower case, trimmed, no `models/`) from the table. */
  find(provider: string, model: string, _at: number, knownElsewhere: boolean): Found | null {
    const match = provider === '' ? this.#bare(model) : this.#under(provider, model, knownElsewhere);
    return match === null ? null : { match, from: -Infinity, until: Infinity };
  }

  /**
   * A model served by `provider`: its own entry; else, for resellers, `mock` and providers no
   * layer knows, the id it names.
   */
  #under(provider: string, model: string, knownElsewhere = false): PriceMatch | null {
    const m = model.startsWith(`${provider}/`) ? model.slice(provider.length + 1) : model;
    const exact = this.#ids.get(`${provider}/${m}`);
    if (exact !== undefined) return exact;
    const family = stripDatedSuffix(m);
    if (family !== m) {
      const dated = this.#ids.get(`${provider}/${family}`);
      if (dated !== undefined) return dated;
    }
    if ((knownElsewhere || this.#vendors.has(provider)) && !m.includes('/')) return null;
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

