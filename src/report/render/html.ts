// The allocation report as one self-contained HTML page (inline CSS and SVG, no script, nothing
// fetched) that finance can open from a mail attachment or a shared folder: a title naming the
// dimension, the total against the previous period, a chart, and the table with human labels
// and money in dollars and cents. Every value is escaped: tags, users and metadata values come
// from API clients.
import type { Report } from '../query.ts';
import { barChart, type BarRow } from './charts.ts';
import { escapeHtml } from './escape.ts';
import { formatUsd } from './numbers.ts';
import { reportView, summaryLine, type ReportView, type ViewCell } from './view.ts';

export { escapeHtml };

/** Escaped prose where `code` spans (the notes use them) become <code>. */
export function prose(text: string): string {
  return escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}

export const REPORT_STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}
h1{font-size:1.35em;margin-bottom:.2em}.summary{font-size:1.05em}.summary strong{font-size:1.2em}
table{border-collapse:collapse;margin:1em 0}th,td{padding:.3em .7em;border-bottom:1px solid #ddd;text-align:left}
th{background:#f4f4f4;font-weight:600}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.share{position:relative;min-width:6em}span.bar{position:absolute;left:0;top:20%;height:60%;background:#cfe3f7;z-index:-1}
tfoot td{font-weight:600;border-top:2px solid #999}code{background:#f4f4f4;padding:0 .2em}
em.none{color:#666}.up{color:#b3261e}.down{color:#1b7f3b}svg.chart{max-width:100%;height:auto}`;

function changeClass(text: string): string {
  if (text.startsWith('+') || text === 'new') return ' up';
  if (text.startsWith('-')) return ' down';
  return '';
}

export function htmlCell(cell: ViewCell, column: { key: string; numeric: boolean }): string {
  if (cell.sentinel) return `<td><em class="none">${escapeHtml(cell.text)}</em></td>`;
  if (!column.numeric) return `<td>${escapeHtml(cell.text)}</td>`;
  if (column.key.endsWith('_share') && cell.text !== '') {
    const pct = Math.max(0, Math.min(100, Number.parseFloat(cell.text.replace(/,/g, ''))));
    return `<td class="num share"><span class="bar" style="width:${Number.isFinite(pct) ? pct.toFixed(2) : '0'}%"></span>${escapeHtml(cell.text)}</td>`;
  }
  const extra = column.key === 'change' ? changeClass(cell.text) : '';
  return `<td class="num${extra}">${escapeHtml(cell.text)}</td>`;
}

/** The report's table (header, rows, totals) as HTML. */
export function viewTable(view: ReportView): string {
  const head = view.columns.map((c) => `<th${c.numeric ? ' class="num"' : ''}>${escapeHtml(c.label)}</th>`).join('');
  const body = view.rows.map((r) => `<tr>${r.map((cell, i) => htmlCell(cell, view.columns[i]!)).join('')}</tr>`).join('\n');
  const foot = view.total.map((cell, i) => `<td${view.columns[i]!.numeric ? ' class="num"' : ''}>${escapeHtml(cell.text)}</td>`).join('');
  return `<table>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n<tfoot><tr>${foot}</tr></tfoot>\n</table>`;
}

const CHART_ROWS = 12;

/** Spend of the report's largest rows against the previous period; the rest as one bar. */
export function reportChart(report: Report, view: ReportView): string {
  const spend = (v: unknown): number => Number(v ?? 0);
  // The chart shows the basis the report is on.
  const money = report.basis === 'billed' ? 'billed_usd' : 'spend_usd';
  const previousMoney = report.basis === 'billed' ? 'previous_billed_usd' : 'previous_spend_usd';
  const labelOf = (i: number): { label: string; sentinel?: boolean } => {
    const cells = view.rows[i]!.slice(0, report.labels.length);
    return { label: cells.map((c) => c.text).join(' / '), sentinel: cells.every((c) => c.sentinel) };
  };
  const rows: BarRow[] = report.table.rows.slice(0, CHART_ROWS).map((r, i) => {
    const l = labelOf(i);
    return { ...l, value: spend(r[money]), previous: spend(r[previousMoney]), text: formatUsd(String(r[money] ?? '0')) };
  });
  const rest = report.table.rows.slice(CHART_ROWS);
  if (rest.length > 0) {
    const value = rest.reduce((s, r) => s + spend(r[money]), 0);
    const previous = rest.reduce((s, r) => s + spend(r[previousMoney]), 0);
    rows.push({ label: `${rest.length} more`, sentinel: true, value, previous, text: formatUsd(value.toFixed(10)) });
  }
  return barChart(view.title, rows, { previousLabel: `previous period (${view.summary.previousPeriod})` });
}

export function renderReportHtml(report: Report): string {
  const view = reportView(report);
  const chart = report.table.rows.length > 0 ? `<figure>${reportChart(report, view)}</figure>\n` : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(view.title)}</title>
<style>${REPORT_STYLE}</style>
</head>
<body>
<h1>${escapeHtml(view.title)}</h1>
<p class="summary">${summaryHtml(view)}</p>
${chart}${viewTable(view)}
${report.notes.length > 0 ? `<ul>\n${report.notes.map((n) => `<li>${prose(n)}</li>`).join('\n')}\n</ul>\n` : ''}</body>
</html>
`;
}

/** The summary sentence with the total emphasised and the change coloured. */
export function summaryHtml(view: ReportView): string {
  const s = view.summary;
  const text = escapeHtml(summaryLine(view));
  const spend = escapeHtml(s.spend);
  let html = text.replace(spend, `<strong>${spend}</strong>`);
  if (s.change && s.change !== 'new') html = html.replace(escapeHtml(s.change), `<span class="${changeClass(s.change).trim()}">${escapeHtml(s.change)}</span>`);
  return html;
}
