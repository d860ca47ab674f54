// An allocation report in each output format. CSV and JSON are for machines: exact decimal
// values, column names as in SQL, rows without a value as null (JSON) or their sentinel word
// (CSV). Markdown, text and HTML are for people (render/view.ts).
import type { Report } from '../query.ts';
import { csvField, markdownText, terminalText } from './escape.ts';
import { cellText, markdownGrid, textGrid, toCsv } from './format.ts';
import { renderReportHtml } from './html.ts';
import { SENTINEL_TEXTS, sentinelText, UNATTRIBUTED } from './labels.ts';
import { reportView, summaryLine, type ViewCell } from './view.ts';

export type ReportFormat = 'csv' | 'json' | 'md' | 'html' | 'table';

/** The report as `tagspend report --format json` prints it (and `GET /api/report` answers). */
export function reportJson(report: Report): Record<string, unknown> {
  return {
    from: report.from,
    to: report.to,
    timezone: report.timezone,
    by: report.by,
    ...(report.basis === 'billed' ? { basis: 'billed', unattributed: report.unattributed ?? null } : {}),
    total: report.total,
    previous: report.previous,
    rows: report.table.rows,
    // Only for a page of the rows (GET /api/report?limit=): which rows, of how many.
    ...(report.page ? { page: report.page } : {}),
    notes: report.notes,
  };
}

function markdownCell(cell: ViewCell, numeric: boolean): string {
  if (cell.sentinel) return `_${cell.text}_`; // emphasis: escaped client text can never produce it
  return numeric ? cell.text : markdownText(cell.text);
}

/** Text cells: a real value that reads as a sentinel, or starts with a quote, is shown quoted. */
function terminalCell(cell: ViewCell): string {
  if (cell.sentinel) return cell.text;
  const text = SENTINEL_TEXTS.has(cell.text) || cell.text.startsWith('"') ? JSON.stringify(cell.text) : cell.text;
  return terminalText(text);
}

export function renderReport(report: Report, format: ReportFormat): string {
  switch (format) {
    case 'csv': {
      const word = sentinelText(report.dimension);
      const csv = toCsv(report.table, { sentinels: Object.fromEntries(report.labels.map((l) => [l, word])) });
      const u = report.unattributed;
      if (!u) return csv;
      // The unattributed row last, its first label the sentinel word (real values that read
      // the same are written as literals by toCsv).
      const line = report.table.columns.map((c) => (c === report.labels[0] ? UNATTRIBUTED : csvField(cellText(u[c])))).join(',');
      return `${csv}${line}\r\n`;
    }
    case 'json':
      return `${JSON.stringify(reportJson(report), null, 2)}\n`;
    case 'md': {
      const view = reportView(report);
      const right = view.columns.map((c) => c.numeric);
      const rows = view.rows.map((r) => r.map((c, i) => markdownCell(c, right[i]!)));
      rows.push(view.total.map((c, i) => (i === 0 ? `**${c.text}**` : c.text)));
      return [
        `# ${markdownText(view.title)}`,
        '',
        summaryLine(view),
        '',
        markdownGrid(view.columns.map((c) => c.label), rows, right).trimEnd(),
        '',
        ...report.notes.map((n) => `- ${n}`),
        '',
      ].join('\n');
    }
    case 'html':
      return renderReportHtml(report);
    case 'table': {
      const view = reportView(report);
      const rows = view.rows.map((r) => r.map(terminalCell));
      rows.push(view.total.map((c) => c.text));
      return [
        terminalText(view.title),
        '',
        ...textGrid(view.columns.map((c) => c.label), rows, view.columns.map((c) => c.numeric)),
        '',
        summaryLine(view),
        ...report.notes.map((n) => `note: ${n}`),
        '',
      ].join('\n');
    }
  }
}
