// The allocation report: spend, requests and tokens of a period by one dimension, with each
// row's share of the period's total spend and its spend in the period before (same length), so
// every rendering can show the change. Read from the daily rollups, so it is as fresh as the
// last rollup run; the notes say how to read the rows (multi-tag requests, splits). Rows without
// a value (untagged, no user...) carry a null label: only renderers name them (render/labels.ts).
import type { DuckDBConnection } from '@duckdb/node-api';
import { selectOne, selectRows, type Json } from '../db/rows.ts';
import { sql } from '../db/sql.ts';
import { withConnection, type WithConnection } from '../db/with-connection.ts';
import { addDays, daysBetween } from './calendar.ts';
import { dimensionLabel, type Dimension } from './dimensions.ts';
import { trimDecimal, type Table } from './render/format.ts';

/** `estimated`: the cost tagspend priced; `billed`: the requests' shares of imported bills (docs/trueup.md). */
export type ReportBasis = 'estimated' | 'billed';
export const REPORT_BASES: readonly ReportBasis[] = ['estimated', 'billed'];

export interface ReportRequest {
  /** First and last day, inclusive, in the configured timezone. */
  from: string;
  to: string;
  by: Dimension;
  /** Default `estimated`. */
  basis?: ReportBasis;
  /** Only these rows of the table, in its order (default: every row). */
  page?: ReportPage;
}

/** A slice of a report's rows: `limit` rows after the first `offset`. */
export interface ReportPage {
  offset: number;
  limit: number;
}

export interface Report {
  from: string;
  to: string;
  timezone: string;
  /** The dimension as a file-name-safe label (`tag-team`). */
  by: string;
  dimension: Dimension;
  /** The table's label columns (`team`; `model`, `provider`); the rest are measures. */
  labels: string[];
  table: Table;
  total: Record<string, Json>;
  /** The period of the same length just before, for the change. */
  previous: { from: string; to: string; total: Record<string, Json> };
  notes: string[];
  /** With a page asked for: the page and how many rows the whole table has. */
  page?: ReportPage & { total_rows: number };
  /** A drill-down's scope in words (`team search`); absent for a whole report. */
  scope?: string;
  /** Absent: `estimated`. */
  basis?: ReportBasis;
  /**
   * Billed basis: the bills' cost no request accounts for, in the shape of a row (measures only,
   * no labels); the renderers show it as `(unattributed)`. Null when there is none.
   */
  unattributed?: Record<string, Json> | null;
}

const MEASURES = ['requests', 'errors', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'spend_usd'];
/** Computed per row after the measures: share of the total, and spend in the previous period. */
const DERIVED = ['spend_share', 'previous_spend_usd'];
/** A billed report keeps the estimate beside the billed cost; shares and changes are of the bill. */
const BILLED_MEASURES = [...MEASURES, 'billed_usd'];
const BILLED_DERIVED = ['billed_share', 'previous_billed_usd'];

interface DimensionQuery {
  /** report_source's dim and dim_key (sql/report/create_report_source.sql). */
  dim: Dimension['kind'];
  key: string | null;
  /** The rows add up to the total; the remainder is the NULL row. */
  split: boolean;
  /** Column names of the value and, for models, the provider. */
  labels: [string] | [string, string];
}

function query(by: Dimension): DimensionQuery {
  switch (by.kind) {
    case 'tag':
      return { dim: 'tag', key: null, split: false, labels: ['tag'] };
    case 'tag_key':
      return { dim: 'tag_key', key: by.key, split: true, labels: [by.key] };
    case 'meta':
      return { dim: 'meta', key: by.key, split: true, labels: [by.key] };
    case 'user':
      return { dim: 'user', key: null, split: false, labels: ['user'] };
    case 'model':
      return { dim: 'model', key: null, split: false, labels: ['model', 'provider'] };
    case 'key':
      return { dim: 'key', key: null, split: false, labels: ['key'] };
  }
}

/** Share of the total in percent, to two decimals, computed exactly from the decimal strings. */
export function sharePercent(part: string, total: string): string {
  const units = (s: string): bigint => {
    const [i, f = ''] = s.replace('-', '').split('.');
    const v = BigInt(i!) * 10n ** 10n + BigInt((f + '0'.repeat(10)).slice(0, 10) || '0');
    return s.startsWith('-') ? -v : v;
  };
  const t = units(total);
  if (t === 0n) return '';
  const milliPercent = (units(part) * 100_000n) / t;
  const rounded = (milliPercent + (milliPercent >= 0n ? 5n : -5n)) / 10n; // hundredths of a percent
  const sign = rounded < 0n ? '-' : '';
  const abs = rounded < 0n ? -rounded : rounded;
  return `${sign}${abs / 100n}.${String(abs % 100n).padStart(2, '0')}`;
}

interface BilledFacts {
  unattributed: string;
  previousUnattributed: string;
  /** Requests of the period with an estimated cost that no imported bill covers, and that cost. */
  uncoveredRequests: number;
  uncoveredUsd: string;
}

function notesFor(by: Dimension, total: Record<string, Json>, billed: BilledFacts | null = null): string[] {
  const notes: string[] = [];
  if (billed !== null) {
    notes.push(
      'billed_usd is each request\'s share of its provider\'s imported bill (by estimated cost; docs/trueup.md); spend_usd is the estimate. (unattributed) is billed cost no request accounts for (traffic that bypassed the gateway, costs the price table does not know), counted by the bills\' UTC days.',
    );
    if (billed.uncoveredRequests > 0) {
      notes.push(`${billed.uncoveredRequests} request(s) with ${trimDecimal(billed.uncoveredUsd)} USD of estimated cost have no imported bill (provider or day not billed yet): they count 0 in billed_usd.`);
    }
  }
  if (by.kind === 'tag') {
    notes.push(
      'A request counts under each of its tags, so these rows add up to more than the total when requests carry several tags. Shares are of the period total.',
    );
  }
  if (by.kind === 'tag_key') {
    notes.push(
      `A request with several \`${by.key}:\` tags is split evenly between them (rounding remainders go to the first value), so the rows add up exactly to the total. (untagged) holds requests without a \`${by.key}:\` tag (its value is null in JSON).`,
    );
  }
  if (by.kind === 'meta') notes.push(`(none) holds requests without a \`${by.key}\` metadata field (its value is null in JSON); the rows add up to the total.`);
  const unpriced = Number(total.unpriced ?? 0);
  if (unpriced > 0) notes.push(`${unpriced} request(s) have no known price and count as $0 until the re-price job prices them.`);
  return notes;
}

function cleanDecimals(row: Record<string, Json>): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(row)) out[k] = typeof v === 'string' ? trimDecimal(v) : v;
  return out;
}

/** Decimal strings added exactly (money has 10 decimals). */
function addDecimal(a: string, b: string): string {
  const units = (t: string): bigint => {
    const [i, f = ''] = t.replace('-', '').split('.');
    const v = BigInt(i!) * 10n ** 10n + BigInt((f + '0'.repeat(10)).slice(0, 10) || '0');
    return t.startsWith('-') ? -v : v;
  };
  const sum = units(a) + units(b);
  const abs = sum < 0n ? -sum : sum;
  return `${sum < 0n ? '-' : ''}${abs / 10n ** 10n}.${String(abs % 10n ** 10n).padStart(10, '0')}`;
}

async function billedFacts(use: WithConnection, period: { from: string; to: string }, before: { from: string; to: string }): Promise<BilledFacts> {
  const [u, p, c] = await Promise.all([
    use((conn) => selectOne(conn, sql('report/unattributed_total'), period)),
    use((conn) => selectOne(conn, sql('report/unattributed_total'), before)),
    use((conn) => selectOne(conn, sql('report/unbilled_estimates'), period)),
  ]);
  return {
    unattributed: String(u?.unattributed_usd ?? '0'),
    previousUnattributed: String(p?.unattributed_usd ?? '0'),
    uncoveredRequests: Number(c?.requests ?? 0),
    uncoveredUsd: String(c?.estimated_usd ?? '0'),
  };
}

const isZero = (text: string): boolean => /^-?0*(\.0*)?$/.test(text);

/** The totals row of the period (`current`) or of the one before, without its `current` flag. */
function periodRow(rows: Record<string, Json>[], current: boolean): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(rows.find((r) => r.current === current) ?? {})) if (k !== 'current') out[k] = v;
  return out;
}

/** Connections that have the report_source view (a TEMP view lives as long as its connection). */
const withReportSource = new WeakSet<DuckDBConnection>();

async function ensureReportSource(conn: DuckDBConnection): Promise<void> {
  if (withReportSource.has(conn)) return;
  await conn.run(sql('report/create_report_source'));
  withReportSource.add(conn);
}

/** The report's rows (sql/report/by_dimension.sql), all or one page. */
function dimensionRows(use: WithConnection, req: ReportRequest, before: string, page: ReportPage | null): Promise<Record<string, Json>[]> {
  const q = query(req.by);
  return use(async (conn) => {
    await ensureReportSource(conn);
    return selectRows(conn, sql('report/by_dimension'), {
      from: req.from,
      to: req.to,
      before,
      dim: q.dim,
      key: q.key,
      split: q.split,
      billed: (req.basis ?? 'estimated') === 'billed',
      offset: page?.offset ?? 0,
      limit: page?.limit ?? null,
    });
  });
}

/** How many rows the whole table has, when a page past its end came back empty. */
async function countRows(use: WithConnection, req: ReportRequest, before: string): Promise<number> {
  return Number((await dimensionRows(use, req, before, { offset: 0, limit: 1 }))[0]?.row_count ?? 0);
}

/**
 * The report: two queries, each over both periods (the totals, and the rows; a billed report
 * adds the bills' facts), which run side by side when `db` hands out several connections.
 */
export async function buildReport(db: DuckDBConnection | WithConnection, req: ReportRequest, timezone: string): Promise<Report> {
  const use = withConnection(db);
  const period = { from: req.from, to: req.to };
  const length = daysBetween(req.from, req.to) + 1;
  const before = { from: addDays(req.from, -length), to: addDays(req.from, -1) };
  const q = query(req.by);
  const basis = req.basis ?? 'estimated';
  const [totals, rowsOfBoth, billed] = await Promise.all([
    use((conn) => selectRows(conn, sql('report/period_totals'), { ...period, before: before.from })),
    dimensionRows(use, req, before.from, req.page ?? null),
    basis === 'billed' ? billedFacts(use, period, before) : null,
  ]);
  const total = periodRow(totals, true);
  const previousTotal = periodRow(totals, false);
  if (billed !== null) {
    // The unattributed cost is billed too: it belongs in the total every row is a share of.
    total.billed_usd = addDecimal(String(total.billed_usd ?? '0'), billed.unattributed);
    previousTotal.billed_usd = addDecimal(String(previousTotal.billed_usd ?? '0'), billed.previousUnattributed);
  }
  const money = billed === null ? 'spend_usd' : 'billed_usd';
  const measures = billed === null ? MEASURES : BILLED_MEASURES;
  const [shareColumn, previousColumn] = (billed === null ? DERIVED : BILLED_DERIVED) as [string, string];
  const totalMoney = String(total[money] ?? '0');
  // tag:<key> and meta:<key> rows are labelled by the key itself (a `team` column).
  const labels: string[] = q.labels;
  const labelled = (r: Record<string, Json>): Record<string, Json> => {
    const out: Record<string, Json> = {};
    out[labels[0]!] = r.value ?? null;
    if (labels[1] !== undefined) out[labels[1]] = r.detail ?? null;
    return out;
  };
  // The rows come in the report's order, each with its spend in the period before (by_dimension.sql).
  const rows = rowsOfBoth.map((r) => {
    const out = labelled(r);
    for (const m of measures) out[m] = typeof r[m] === 'string' ? trimDecimal(r[m] as string) : (r[m] ?? null);
    out[shareColumn] = sharePercent(String(r[money] ?? '0'), totalMoney);
    out[previousColumn] = trimDecimal(String(r.previous_money ?? '0'));
    return out;
  });
  const rowCount = Number(rowsOfBoth[0]?.row_count ?? 0);
  let unattributed: Record<string, Json> | null = null;
  if (billed !== null && !(isZero(billed.unattributed) && isZero(billed.previousUnattributed))) {
    unattributed = { requests: 0, errors: 0, prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, spend_usd: '0' };
    unattributed.billed_usd = trimDecimal(billed.unattributed);
    unattributed.billed_share = sharePercent(billed.unattributed, totalMoney);
    unattributed.previous_billed_usd = trimDecimal(billed.previousUnattributed);
  }
  return {
    ...period,
    timezone,
    by: dimensionLabel(req.by),
    dimension: req.by,
    labels,
    table: { columns: [...labels, ...measures, shareColumn, previousColumn], rows },
    total: cleanDecimals(total),
    previous: { ...before, total: cleanDecimals(previousTotal) },
    notes: notesFor(req.by, total, billed),
    basis,
    unattributed,
    ...(req.page ? { page: { ...req.page, total_rows: rows.length > 0 || req.page.offset === 0 ? rowCount : await countRows(use, req, before.from) } } : {}),
  };
}

export { renderReport, type ReportFormat } from './render/report.ts';
