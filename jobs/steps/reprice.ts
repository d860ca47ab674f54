// re-price: rows logged with an unknown price (cost_usd NULL) are priced from their tokens once
// the price table knows the model (after a pricing.refresh, say), and keep the reference of the
// table that priced them. With `all` (`tagspend jobs run reprice --all`) every row that used
// tokens is priced again with the current prices. Costs come from the proxy's own costOf, per
// distinct (model, usage, UTC day) combination at the price in force that day, so a re-priced
// row costs exactly what the proxy would have logged.
import type { DuckDBConnection } from '@duckdb/node-api';
import { appendTempRows } from '../../src/db/append.ts';
import { count, selectRows, type Json } from '../../src/db/rows.ts';
import { sql } from '../../src/db/sql.ts';
import { inTransaction } from '../../src/db/transaction.ts';
import { costOf, priceFor, type PriceMatch, type PriceTable } from '../../src/spend/pricing.ts';
import type { JobContext } from '../run/context.ts';

export interface RepriceResult {
  repriced: number;
  /** Rows still without a price (their model is still unknown). */
  unpriced: number;
}

const str = (v: Json | undefined): string | null => (v === null || v === undefined ? null : String(v));

export interface RepriceOptions {
  /** Every row that used tokens, not only the unpriced ones. */
  all?: boolean;
}

const TOKENS = ['prompt_tokens', 'completion_tokens', 'total_tokens', 'cached_tokens', 'cache_write_tokens', 'reasoning_tokens', 'cache_write_1h_tokens'] as const;

/** The models of unpriced rows that the price table now knows, with the match for each. */
async function repriceableModels(conn: DuckDBConnection, prices: PriceTable, all: boolean): Promise<{ matches: Map<string, PriceMatch>; priced: number; unpriced: number }> {
  const matches = new Map<string, PriceMatch>();
  let priced = 0;
  let unpriced = 0;
  for (const r of await selectRows(conn, sql('reprice/select_unpriced_models'), { all })) {
    const match = priceFor(prices, str(r.provider), str(r.model), str(r.upstream_model));
    if (match === null) {
      unpriced += count(r.requests);
      continue;
    }
    priced += count(r.requests);
    matches.set(JSON.stringify([str(r.provider), str(r.model), str(r.upstream_model)]), match);
  }
  return { matches, priced, unpriced };
}

/** Costs per distinct (model, usage, day) combination, computed with costOf, into repriced_usage. */
async function computeCosts(conn: DuckDBConnection, prices: PriceTable, matches: ReadonlyMap<string, PriceMatch>, all: boolean): Promise<void> {
  await conn.run(sql('reprice/create_repriceable_models'));
  await appendTempRows(conn, 'repriceable_models', [...matches.keys()].map((k) => JSON.parse(k) as (string | null)[]));
  const usage = await selectRows(conn, sql('reprice/select_unpriced_usage'), { all });
  await conn.run(sql('reprice/create_repriced_usage'));
  const rows: (string | bigint | null)[][] = [];
  for (const r of usage) {
    const model = [str(r.provider), str(r.model), str(r.upstream_model)] as const;
    const day = String(r.price_day);
    // The price in force on the record's (UTC) day; the match found for the model otherwise.
    const match = priceFor(prices, model[0], model[1], model[2], Date.parse(`${day}T00:00:00Z`)) ?? matches.get(JSON.stringify(model))!;
    const tokens = Object.fromEntries(TOKENS.map((t) => [t, count(r[t])])) as Record<(typeof TOKENS)[number], number>;
    rows.push([...model, day, ...TOKENS.map((t) => (r[t] === null ? null : BigInt(tokens[t]))), costOf(tokens, match.price).toFixed(10), match.ref]);
  }
  await appendTempRows(conn, 'repriced_usage', rows);
}

export async function runReprice(ctx: JobContext, prices: PriceTable, options: RepriceOptions = {}): Promise<RepriceResult> {
  const { conn } = ctx.db;
  const all = options.all === true;
  const { matches, priced, unpriced } = await repriceableModels(conn, prices, all);
  if (priced === 0) return { repriced: 0, unpriced };
  await computeCosts(conn, prices, matches, all);
  ctx.progress.phase('reprice', priced);
  const repriced = await inTransaction(conn, async () => {
    await conn.run(sql('reprice/insert_repriced_days'), { all });
    const result = await conn.run(sql('reprice/update_repriced_rows'), { repriced_at: ctx.now().toISOString(), all });
    return result.rowsChanged;
  });
  ctx.progress.advance(repriced);
  ctx.progress.end();
  return { repriced, unpriced };
}
