// A report as people read it: human column labels, money as currency, counts with separators,
// the change against the previous period, and rows without a value named by their sentinel.
// The text, Markdown, HTML and dashboard renderers all draw this one view; CSV and JSON keep
// the report's exact values and column names.
import type { Json } from '../../db/rows.ts';
import type { Report } from '../query.ts';
import { cellText } from './format.ts';
import { columnLabel, reportTitle, sentinelText, UNATTRIBUTED } from './labels.ts';
import { changePercent, formatCount, formatPercent, formatUsd } from './numbers.ts';

export interface ViewCell {
  text: string;
  /** A row without a value: `text` is the sentinel word, never a client's value. */
  sentinel?: boolean;
}

export interface ViewColumn {
  key: string;
  label: string;
  numeric: boolean;
}

export interface ReportView {
  title: string;
  columns: ViewColumn[];
  rows: ViewCell[][];
  /** The footer: the period's totals. */
  total: ViewCell[];
  summary: {
    spend: string;
    requests: string;
    tokens: string;
    previousSpend: string;
    previousPeriod: string;
    change: string;
  };
}

const MONEY = new Set(['spend_usd', 'previous_spend_usd', 'billed_usd', 'previous_billed_usd']);
const PERCENT = new Set(['spend_share', 'billed_share']);
/**
 * The human view's measure columns, in order (those the report has); `change` is computed from
 * the spend columns, or on the billed basis from the billed ones.
 */
const SHOWN = ['requests', 'errors', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'spend_usd', 'billed_usd', 'spend_share', 'billed_share', 'previous_spend_usd', 'previous_billed_usd', 'change'];

function measureText(column: string, value: Json | undefined): string {
  if (value === null || value === undefined) return '';
  const text = cellText(value);
  if (MONEY.has(column)) return formatUsd(text);
  if (PERCENT.has(column)) return formatPercent(text);
  return formatCount(text);
}

export function reportView(report: Report): ReportView {
  const sentinel = sentinelText(report.dimension);
  const billed = report.basis === 'billed';
  const money = billed ? 'billed_usd' : 'spend_usd';
  const previousMoney = billed ? 'previous_billed_usd' : 'previous_spend_usd';
  const measures = SHOWN.filter((c) => c === 'change' || report.table.columns.includes(c));
  const columns: ViewColumn[] = [
    ...report.labels.map((key) => ({ key, label: columnLabel(key), numeric: false })),
    ...measures.map((key) => ({ key, label: key === 'change' ? 'Change' : columnLabel(key), numeric: true })),
  ];
  const measureCells = (r: Record<string, Json>): ViewCell[] =>
    measures.map((m): ViewCell => ({
      text: m === 'change' ? changePercent(String(r[money] ?? '0'), String(r[previousMoney] ?? '0')) : measureText(m, r[m]),
    }));
  const rows = report.table.rows.map((r) => [
    ...report.labels.map((l): ViewCell => (r[l] === null || r[l] === undefined ? { text: sentinel, sentinel: true } : { text: cellText(r[l]) })),
    ...measureCells(r),
  ]);
  if (report.unattributed) {
    rows.push([...report.labels.map((_, i): ViewCell => (i === 0 ? { text: UNATTRIBUTED, sentinel: true } : { text: '' })), ...measureCells(report.unattributed)]);
  }
  const t = report.total;
  const p = report.previous.total;
  const totalCell = (m: string): ViewCell => {
    if (m === 'change') return { text: changePercent(String(t[money] ?? '0'), String(p[money] ?? '0')) };
    if (PERCENT.has(m)) return { text: '' };
    if (m === 'previous_spend_usd') return { text: formatUsd(String(p.spend_usd ?? '0')) };
    if (m === 'previous_billed_usd') return { text: formatUsd(String(p.billed_usd ?? '0')) };
    return { text: measureText(m, t[m] ?? '0') };
  };
  return {
    title: reportTitle(report.dimension, report.from, report.to, report.timezone, report.scope, billed),
    columns,
    rows,
    total: [...report.labels.map((_, i): ViewCell => ({ text: i === 0 ? 'Total' : '' })), ...measures.map(totalCell)],
    summary: {
      spend: formatUsd(String(t[money] ?? '0'), 'summary'),
      requests: formatCount(String(t.requests ?? '0')),
      tokens: formatCount(String(t.total_tokens ?? '0')),
      previousSpend: formatUsd(String(p[money] ?? '0'), 'summary'),
      previousPeriod: report.previous.from === report.previous.to ? report.previous.from : `${report.previous.from} to ${report.previous.to}`,
      change: changePercent(String(t[money] ?? '0'), String(p[money] ?? '0')),
    },
  };
}

/** One sentence for the top of a report: `Total $1,234.57 over 1,200 requests ... (+12.5% against ...)`. */
export function summaryLine(view: ReportView): string {
  const s = view.summary;
  const change = s.change === '' ? '' : s.change === 'new' ? ' (nothing in the previous period)' : ` (${s.change} against ${s.previousSpend} in ${s.previousPeriod})`;
  return `Total ${s.spend} over ${s.requests} requests and ${s.tokens} tokens${change}.`;
}
