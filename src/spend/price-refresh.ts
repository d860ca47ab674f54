// pricing.refresh: the genai-prices data reloaded from a URL or a file while the proxy runs, and
// read by every job run. A source that cannot be read or does not hold valid data changes
// nothing: the last good data stays in use (also kept on disk for the next start) and the
// failure is counted. Records priced from refreshed data carry `genai-prices:data@<sha-8>`.
import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Provider } from '@pydantic/genai-prices';
import type { Logger } from '../log.ts';
import { checkProviderData } from './genai-prices.ts';
import { loadPriceTable, type PriceMatch, type PriceTable } from './pricing.ts';

export interface RefreshSettings {
  source: string;
  interval_seconds: number;
  timeout_ms: number;
}

export interface PriceData {
  providers: readonly Provider[];
  ref: string;
}

/** Reads the source (http(s) URL, file:// URL or path); throws with the reason when it is unusable. */
export async function fetchPriceData(source: string, timeoutMs: number): Promise<{ data: PriceData; text: string }> {
  let text: string;
  if (/^https?:\/\//i.test(source)) {
    const res = await fetch(source, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`${source} answered HTTP ${res.status}`);
    text = await res.text();
  } else {
    text = await readFile(source.startsWith('file:') ? fileURLToPath(source) : source, 'utf8');
  }
  return { data: parsePriceData(text), text };
}

export function parsePriceData(text: string): PriceData {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`not JSON: ${(err as Error).message}`);
  }
  const providers = checkProviderData(parsed);
  return { providers, ref: `genai-prices:data@${createHash('sha256').update(text).digest('hex').slice(0, 8)}` };
}

async function saveLastGood(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

async function loadLastGood(path: string): Promise<PriceData | null> {
  try {
    return parsePriceData(await readFile(path, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * The data a job run prices with: the source when it can be read (kept as the last good copy),
 * else the last good copy, else the data bundled with the library.
 */
export async function currentPriceData(refresh: RefreshSettings | undefined, lastGoodFile: string, log: Logger): Promise<PriceData | undefined> {
  if (!refresh) return undefined;
  try {
    const { data, text } = await fetchPriceData(refresh.source, refresh.timeout_ms);
    await saveLastGood(lastGoodFile, text).catch(() => {});
    return data;
  } catch (err) {
    const fallback = await loadLastGood(lastGoodFile);
    log.warn({ err, source: refresh.source, using: fallback?.ref ?? 'bundled' }, 'pricing.refresh: source unusable, pricing with the last good data');
    return fallback ?? undefined;
  }
}

/** A price table whose contents can be replaced while requests use it. */
export class SwappablePriceTable implements PriceTable {
  #current: PriceTable;

  constructor(initial: PriceTable) {
    this.#current = initial;
  }

  get ref(): string {
    return this.#current.ref;
  }

  get size(): number {
    return this.#current.size;
  }

  lookup(provider: string | null, model: string, at?: number): PriceMatch | null {
    return this.#current.lookup(provider, model, at);
  }

  replace(table: PriceTable): void {
    this.#current = table;
  }
}

export interface RefreshHooks {
  /** The data changed (a new ref) and is in use. */
  onSuccess?(ref: string, atMs: number): void;
  onFailure?(reason: string): void;
}

export interface PriceRefresherOptions {
  refresh: RefreshSettings;
  overridesFile: string | undefined;
  lastGoodFile: string;
  logger: Logger;
  hooks?: RefreshHooks;
  clock?: () => number;
}

/** Reloads the price data every interval into a SwappablePriceTable. */
export class PriceRefresher {
  readonly table: SwappablePriceTable;
  readonly #options: PriceRefresherOptions;
  #timer: NodeJS.Timeout | null = null;
  #dataRef: string | null = null;
  #running: Promise<void> | null = null;

  private constructor(table: SwappablePriceTable, options: PriceRefresherOptions) {
    this.table = table;
    this.#options = options;
  }

  /** Loads the source once (else the last good copy, else the bundled data) and starts the timer. */
  static async start(options: PriceRefresherOptions): Promise<PriceRefresher> {
    const initial = (await loadLastGood(options.lastGoodFile)) ?? undefined;
    const table = new SwappablePriceTable(await loadPriceTable({ overridesFile: options.overridesFile, data: initial }));
    const refresher = new PriceRefresher(table, options);
    refresher.#dataRef = initial?.ref ?? null;
    await refresher.refreshNow();
    refresher.#timer = setInterval(() => void refresher.refreshNow(), options.refresh.interval_seconds * 1000);
    refresher.#timer.unref();
    return refresher;
  }

  /** One refresh; never throws (a failure is logged and counted, the table stays as it was). */
  refreshNow(): Promise<void> {
    this.#running ??= this.#refresh().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #refresh(): Promise<void> {
    const { refresh, logger, hooks } = this.#options;
    const clock = this.#options.clock ?? Date.now;
    try {
      const { data, text } = await fetchPriceData(refresh.source, refresh.timeout_ms);
      if (data.ref !== this.#dataRef) {
        this.table.replace(await loadPriceTable({ overridesFile: this.#options.overridesFile, data }));
        this.#dataRef = data.ref;
        await saveLastGood(this.#options.lastGoodFile, text).catch((err: unknown) => logger.warn({ err }, 'pricing.refresh: could not keep the data on disk'));
        logger.info({ ref: data.ref, source: refresh.source }, 'pricing.refresh: new price data in use');
      }
      hooks?.onSuccess?.(data.ref, clock());
    } catch (err) {
      const reason = (err as Error).message ?? String(err);
      logger.warn({ err, source: refresh.source, ref: this.table.ref }, 'pricing.refresh: source unusable, keeping the last good data');
      hooks?.onFailure?.(reason);
    }
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running;
  }
}
