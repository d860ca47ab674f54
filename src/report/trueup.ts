// `tagspend trueup report`: per UTC day and provider, what the records were estimated at, what
// the provider billed, the difference (USD and % of the estimate) and what the allocation left
// unattributed. Days whose difference passes trueup.alert_pct are alerts (the command exits 1),
// so the report doubles as a monitoring check of the price table and of gateway bypass.
import type { DuckDBConnection } from '@duckdb/node-api';
import { selectRows, type Json } from '../db/rows.ts';
import { sql } from '../db/sql.ts';
import { sharePercent } from './query.ts';
import { trimDecimal, type Table } from './render/format.ts';

export interface TrueupAlert {
  day: string;
  provider: string;
  text: string;
}

export interface TrueupReport {
  from: string;
  to: string;
  alertPct: number;
  table: Table;
  alerts: TrueupAlert[];
  notes: string[];
}

const COLUMNS = ['day', 'provider', 'requests', 'estimated_usd', 'billed_usd', 'difference_usd', 'difference_pct', 'unattributed_usd', 'alert'];

function over(pct: string, limit: number): boolean {
  return Math.abs(Number(pct)) > limit;
}

export async function buildTrueupReport(conn: DuckDBConnection, period: { from: string; to: string }, alertPct: number): Promise<TrueupReport> {
  const raw = await selectRows(conn, sql('report/trueup_by_day'), period);
  const alerts: TrueupAlert[] = [];
  let unbilled = 0;
  let unallocated = 0;
  let unpriced = 0;
  const rows = raw.map((r) => {
    const estimated = String(r.estimated_usd);
    const billed = r.billed_usd === null ? null : String(r.billed_usd);
    const diff = r.difference_usd === null ? null : String(r.difference_usd);
    let pct = '';
    let alert = '';
    if (billed === null) unbilled++;
    else {
      if (r.allocated !== true) unallocated++;
      unpriced += Number(r.unpriced ?? 0);
      const estZero = /^-?0(\.0*)?$/.test(estimated);
      pct = estZero ? '' : sharePercent(diff!, estimated);
      const fires = estZero ? !/^-?0(\.0*)?$/.test(billed) : over(pct, alertPct);
      if (fires) {
        alert = 'ALERT';
        const how = estZero ? 'no estimated cost' : `${Number(pct) > 0 ? '+' : ''}${pct}% of the estimate`;
        alerts.push({
          day: String(r.day),
          provider: String(r.provider),
          text: `${String(r.day)} ${String(r.provider)}: billed ${trimDecimal(billed)} USD, estimated ${trimDecimal(estimated)} USD (${how}; trueup.alert_pct is ${alertPct})`,
        });
      }
    }
    const out: Record<string, Json> = {
      day: r.day ?? null,
      provider: r.provider ?? null,
      requests: r.requests ?? 0,
      estimated_usd: trimDecimal(estimated),
      billed_usd: billed === null ? null : trimDecimal(billed),
      difference_usd: diff === null ? null : trimDecimal(diff),
      difference_pct: pct,
      unattributed_usd: r.unattributed_usd === null ? null : trimDecimal(String(r.unattributed_usd)),
      alert,
    };
    return out;
  });
  const notes = [
    'Days are UTC days (providers bill by UTC day). difference = billed - estimated; % of the estimate. unattributed: billed cost the allocation could not give to records (traffic that bypassed the gateway, costs the price table does not know, or no records for the bill line).',
  ];
  if (unbilled > 0) notes.push(`${unbilled} day(s) have records of a billed provider but no imported bill: they are not compared.`);
  if (unallocated > 0) notes.push(`${unallocated} billed day(s) are not allocated yet: run \`tagspend jobs run reconcile\` (unattributed is empty until then).`);
  if (unpriced > 0) notes.push(`${unpriced} request(s) on billed days have no known price: their estimate counts 0, which shows as a difference.`);
  return { ...period, alertPct, table: { columns: COLUMNS, rows }, alerts, notes };
}
