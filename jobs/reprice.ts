// re-price: rows logged with an unknown price (cost_usd NULL) are priced from their tokens once
// the price table knows the model, and keep the reference of the table that priced them.
// Costs come from the proxy's own costOf, per distinct (model, usage) combination, so a
// re-priced row costs exactly what the proxy would have logged.
import type { DuckDBConnection } from '@duckdb/node-api';
import { count, selectRows, type Json } from '../src/db/rows.ts';
import { sql } from '../src/db/sql.ts';
import { inTransaction } from '../src/db/transaction.ts';
import { costOf, type PriceMatch, type PriceTable } from '../src/spend/pricing.ts';
import type { JobContext } from './context.ts';

export interface RepriceResult {
  repriced: number;
  /** Rows still without a price (their model is still unknown). */
  unpriced: number;
}

const str = (v: Json | undefined): string | null => (v === null || v === undefined ? null : String(v));

/** The price the proxy would have used: the served model first, then the one asked for. */
export function priceFor(prices: PriceTable, provider: string | null, model: string | null, upstream: string | null): PriceMatch | null {
  for (const candidate of [upstream, model]) {
    if (candidate === null) continue;
    const match = prices.lookup(provider, candidate);
    if (match !== null) return match;
  }
  return null;
}

async function appendCosts(conn: DuckDBConnection, rows: readonly Record<string, Json>[], prices: PriceTable): Promise<{ priced: number; unpriced: number }> {
  const memo = new Map<string, PriceMatch | null>();
  let priced = 0;
  let unpriced = 0;
  await conn.run(sql('create_repriced_usage'));
  const appender = await conn.createAppender('repriced_usage', 'main', 'temp');
  try {
    for (const r of rows) {
      const [provider, model, upstream] = [str(r.provider), str(r.model), str(r.upstream_model)];
      const memoKey = JSON.stringify([provider, model, upstream]);
      let match = memo.get(memoKey);
      if (match === undefined) memo.set(memoKey, (match = priceFor(prices, provider, model, upstream)));
      if (match === null) {
        unpriced += count(r.requests);
        continue;
      }
      priced += count(r.requests);
      const tokens = ['prompt_tokens', 'completion_tokens', 'total_tokens', 'cached_tokens', 'cache_write_tokens', 'reasoning_tokens'] as const;
      const usage = Object.fromEntries(tokens.map((t) => [t, count(r[t])])) as Record<(typeof tokens)[number], number>;
      for (const v of [provider, model, upstream]) (v === null ? appender.appendNull() : appender.appendVarchar(v));
      for (const t of tokens) (r[t] === null ? appender.appendNull() : appender.appendBigInt(BigInt(usage[t])));
      appender.appendVarchar(costOf(usage, match.price).toFixed(10));
      appender.appendVarchar(match.ref);
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
  return { priced, unpriced };
}

export async function runReprice(ctx: JobContext, prices: PriceTable): Promise<RepriceResult> {
  const { conn } = ctx.db;
  const usage = await selectRows(conn, sql('select_unpriced_usage'));
  if (usage.length === 0) return { repriced: 0, unpriced: 0 };
  const { priced, unpriced } = await appendCosts(conn, usage, prices);
  if (priced === 0) return { repriced: 0, unpriced };
  ctx.progress.phase('reprice', priced);
  const repriced = await inTransaction(conn, async () => {
    await conn.run(sql('insert_repriced_days'));
    const result = await conn.run(sql('update_repriced_rows'), { repriced_at: ctx.now().toISOString() });
    return result.rowsChanged;
  });
  ctx.progress.advance(repriced);
  ctx.progress.end();
  return { repriced, unpriced };
}
