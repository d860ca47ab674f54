// The allocation report: spend, requests and tokens of a period by one dimension, with each
// row's share of the period's total spend. Read from the daily rollups, so it is as fresh as
// the last rollup run; the notes say how to read the rows (multi-tag requests, splits).
import type { DuckDBConnection } from '@duckdb/node-api';
import { selectOne, selectRows, type Json } from '../db/rows.ts';
import { sql } from '../db/sql.ts';
import { dimensionLabel, type Dimension } from './dimensions.ts';
import { renderTable, toCsv, toMarkdown, trimDecimal, type Table } from './render/format.ts';
import { renderReportHtml } from './render/html.ts';

export type ReportFormat = 'csv' | 'json' | 'md' | 'html' | 'table';

export interface ReportRequest {
  /** First and last day, inclusive, in the configured timezone. */
  from: string;
  to: string;
  by: Dimension;
}

export interface Report {
  from: string;
  to: string;
  timezone: string;
  by: string;
  table: Table;
  total: Record<string, Json>;
  notes: string[];
}

const MEASURES = ['requests', 'errors', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'spend_usd', 'spend_share'];

interface DimensionQuery {
  /** report_source's dim and dim_key (sql/report/create_report_source.sql). */
  dim: Dimension['kind'];
  key: string | null;
  /** The rows add up to the total; the remainder is the NULL row. */
  split: boolean;
  /** Column names of the value and, for models, the provider. */
  labels: [string] | [string, string];
  /** How the NULL value reads. */
  none: string;
}

function query(by: Dimension): DimensionQuery {
  switch (by.kind) {
    case 'tag':
      return { dim: 'tag', key: null, split: false, labels: ['tag'], none: '(untagged)' };
    case 'tag_key':
      return { dim: 'tag_key', key: by.key, split: true, labels: [by.key], none: '(untagged)' };
    case 'meta':
      return { dim: 'meta', key: by.key, split: true, labels: [by.key], none: '(none)' };
    case 'user':
      return { dim: 'user', key: null, split: false, labels: ['user'], none: '(no user)' };
    case 'model':
      return { dim: 'model', key: null, split: false, labels: ['model', 'provider'], none: '(unknown)' };
    case 'key':
      return { dim: 'key', key: null, split: false, labels: ['key'], none: '(no key)' };
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

function notesFor(by: Dimension, total: Record<string, Json>): string[] {
  const notes: string[] = [];
  if (by.kind === 'tag') {
    notes.push(
      'A request counts under each of its tags, so these rows add up to more than the total when requests carry several tags. Shares are of the period total.',
    );
  }
  if (by.kind === 'tag_key') {
    notes.push(
      `A request with several \`${by.key}:\` tags is split evenly between them (rounding remainders go to the first value), so the rows add up exactly to the total. (untagged) holds requests without a \`${by.key}:\` tag.`,
    );
  }
  if (by.kind === 'meta') notes.push(`(none) holds requests without a \`${by.key}\` metadata field; the rows add up to the total.`);
  const unpriced = Number(total.unpriced ?? 0);
  if (unpriced > 0) notes.push(`${unpriced} request(s) have no known price and count as $0 until the re-price job prices them.`);
  return notes;
}

export async function buildReport(conn: DuckDBConnection, req: ReportRequest, timezone: string): Promise<Report> {
  const period = { from: req.from, to: req.to };
  const total = (await selectOne(conn, sql('report/report_total'), period)) ?? {};
  const q = query(req.by);
  await conn.run(sql('report/create_report_source'));
  const raw = await selectRows(conn, sql('report/by_dimension'), { ...period, dim: q.dim, key: q.key, split: q.split, none: q.none });
  const totalSpend = String(total.spend_usd ?? '0');
  // tag:<key> and meta:<key> rows are labelled by the key itself (a `team` column).
  const labels = q.labels;
  const rows = raw.map((r) => {
    const out: Record<string, Json> = {};
    out[labels[0]] = r.value ?? null;
    if (labels[1] !== undefined) out[labels[1]] = r.detail ?? null;
    for (const m of MEASURES.slice(0, -1)) out[m] = typeof r[m] === 'string' ? trimDecimal(r[m] as string) : (r[m] ?? null);
    out.spend_share = sharePercent(String(r.spend_usd ?? '0'), totalSpend);
    return out;
  });
  const cleanTotal: Record<string, Json> = {};
  for (const [k, v] of Object.entries(total)) cleanTotal[k] = typeof v === 'string' ? trimDecimal(v) : v;
  return {
    ...period,
    timezone,
    by: dimensionLabel(req.by),
    table: { columns: [...labels, ...MEASURES], rows },
    total: cleanTotal,
    notes: notesFor(req.by, total),
  };
}

export function renderReport(report: Report, format: ReportFormat): string {
  switch (format) {
    case 'csv':
      return toCsv(report.table);
    case 'json':
      return `${JSON.stringify(
        { from: report.from, to: report.to, timezone: report.timezone, by: report.by, total: report.total, rows: report.table.rows, notes: report.notes },
        null,
        2,
      )}\n`;
    case 'md': {
      const t = report.total;
      return [
        `# Spend by ${report.by}, ${report.from} to ${report.to} (${report.timezone})`,
        '',
        `Total: ${t.spend_usd ?? '0'} USD over ${t.requests ?? 0} requests and ${t.total_tokens ?? 0} tokens.`,
        '',
        toMarkdown(report.table).trimEnd(),
        '',
        ...report.notes.map((n) => `- ${n}`),
        '',
      ].join('\n');
    }
    case 'html':
      return renderReportHtml(report);
    case 'table':
      return [
        renderTable(report.table, 'table').trimEnd(),
        `total: ${report.total.spend_usd ?? '0'} USD, ${report.total.requests ?? 0} requests, ${report.total.total_tokens ?? 0} tokens (${report.from} to ${report.to}, ${report.timezone})`,
        ...report.notes.map((n) => `note: ${n}`),
        '',
      ].join('\n');
  }
}
