// `tagspend export focus`: the records of a period as FinOps FOCUS 1.2 cost and usage rows
// (sql/export/stage_focus_rows.sql builds them; docs/focus.md maps every column), written by
// DuckDB as CSV or Parquet. List prices come from the price table tagspend prices with.
import type { DuckDBConnection } from '@duckdb/node-api';
import { appendTempRows } from '../db/append.ts';
import { count, selectOne, selectRows, type Json } from '../db/rows.ts';
import { quoteLiteral, sql } from '../db/sql.ts';
import { priceFor, type ModelPrice, type PriceTable } from '../spend/pricing.ts';
import { formatUnits, unitsOfNumber } from '../trueup/money.ts';

export type FocusFormat = 'csv' | 'parquet';
export const FOCUS_FORMATS: readonly FocusFormat[] = ['csv', 'parquet'];
export type FocusBasis = 'estimated' | 'billed';

export interface FocusRequest {
  /** First and last UTC day, inclusive (FOCUS charge periods are UTC). */
  from: string;
  to: string;
  basis: FocusBasis;
  format: FocusFormat;
  file: string;
}

export interface FocusResult {
  rows: number;
  /** Sum of BilledCost, exact decimal text. */
  billedCost: string;
}

const str = (v: Json | undefined): string | null => (v === null || v === undefined ? null : String(v));

/** USD per token as exact USD-per-1M decimal text (10 decimals). */
function perMillion(perToken: number): string {
  return formatUnits(unitsOfNumber(Number((perToken * 1_000_000).toPrecision(15)))!);
}

/** Per token type, with the defaults costOf applies (src/spend/pricing.ts). */
function meterPrices(p: ModelPrice): string[] {
  return [p.input, p.cached_input ?? p.input, p.cache_write ?? p.input, p.output, p.reasoning ?? p.output].map(perMillion);
}

async function stagePrices(conn: DuckDBConnection, prices: PriceTable): Promise<void> {
  await conn.run(sql('export/create_focus_prices'));
  const rows: (string | null)[][] = [];
  for (const r of await selectRows(conn, sql('export/select_focus_models'))) {
    const provider = str(r.provider);
    const model = str(r.model);
    const upstream = str(r.upstream_model);
    const match = priceFor(prices, provider, model, upstream);
    if (match !== null) rows.push([provider, model, upstream, match.ref, ...meterPrices(match.price)]);
  }
  await appendTempRows(conn, 'focus_prices', rows);
}

export async function exportFocus(conn: DuckDBConnection, req: FocusRequest, prices: PriceTable): Promise<FocusResult> {
  try {
    await conn.run(sql('export/create_focus_inputs'), { from: req.from, to: req.to, billed: req.basis === 'billed' });
    await stagePrices(conn, prices);
    await conn.run(sql('export/stage_focus_rows'));
    const totals = await selectOne(conn, sql('export/select_focus_rows'));
    await conn.run(sql(req.format === 'csv' ? 'export/copy_focus_csv' : 'export/copy_focus_parquet', { file: quoteLiteral(req.file) }));
    return { rows: count(totals?.rows), billedCost: String(totals?.billed_cost ?? '0') };
  } finally {
    await conn.run(sql('export/drop_focus_scratch'));
  }
}
