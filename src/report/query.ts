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

function query(by: Dimension): { file: string; labels: string[]; params: Record<string, string> } {
  switch (by.kind) {
    case 'tag':
      return { file: 'report/report_by_tag', labels: ['tag'], params: {} };
    case 'tag_key':
      return { file: 'report/report_by_tag_key', labels: ['value'], params: { key: by.key } };
    case 'meta':
      return { file: 'report/report_by_meta', labels: ['value'], params: { key: by.key } };
    case 'user':
      return { file: 'report/report_by_user', labels: ['user'], params: {} };
    case 'model':
      return { file: 'report/report_by_model', labels: ['model', 'provider'], params: {} };
    case 'key':
      return { file: 'report/report_by_key', labels: ['key'], params: {} };
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
  const raw = await selectRows(conn, sql(q.file), { ...period, ...q.params });
  const totalSpend = String(total.spend_usd ?? '0');
  // tag:<key> and meta:<key> rows are labelled by the key itself (a `team` column).
  const labels = q.labels.map((l) => (l === 'value' && 'key' in req.by ? req.by.key : l));
  const rows = raw.map((r) => {
    const out: Record<string, Json> = {};
    q.labels.forEach((l, i) => (out[labels[i]!] = r[l] ?? null));
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
