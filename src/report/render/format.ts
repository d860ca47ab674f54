// Rendering rows of query results and reports: an aligned text table, CSV (RFC 4180), JSON
// and a Markdown table. Values arrive JSON-safe from DuckDB (BIGINT and DECIMAL as exact
// strings); lists and maps are shown as JSON.
import type { Json } from '../../db/rows.ts';

export type TableFormat = 'table' | 'csv' | 'json' | 'md';
export const TABLE_FORMATS: readonly TableFormat[] = ['table', 'csv', 'json', 'md'];

export interface Table {
  columns: readonly string[];
  rows: readonly Record<string, Json>[];
}

export function cellText(value: Json | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  // DuckDB maps come back as [{key, value}] entries: show them as an object.
  if (Array.isArray(value) && value.every((e) => e !== null && typeof e === 'object' && !Array.isArray(e) && 'key' in e && 'value' in e)) {
    if (value.length > 0) return JSON.stringify(Object.fromEntries(value.map((e) => [String((e as Record<string, Json>).key), (e as Record<string, Json>).value])));
  }
  return JSON.stringify(value);
}

function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function toCsv(t: Table): string {
  const lines = [t.columns.map(csvField).join(',')];
  for (const row of t.rows) lines.push(t.columns.map((c) => csvField(cellText(row[c]))).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

export function toJson(t: Table): string {
  return `${JSON.stringify(t.rows, null, 2)}\n`;
}

function isNumeric(text: string): boolean {
  return /^-?\d+(\.\d+)?%?$/.test(text);
}

/** Columns whose every non-empty cell is a number (or a percentage): shown right-aligned. */
export function numericColumns(t: Table): boolean[] {
  return t.columns.map((c) => t.rows.length > 0 && t.rows.every((r) => {
    const text = cellText(r[c]);
    return text === '' || isNumeric(text);
  }));
}

function mdCell(text: string): string {
  return text.replaceAll('|', '\\|').replace(/\r?\n/g, ' ');
}

export function toMarkdown(t: Table): string {
  const cells = t.rows.map((row) => t.columns.map((c) => mdCell(cellText(row[c]))));
  const right = numericColumns(t);
  const lines = [
    `| ${t.columns.map(mdCell).join(' | ')} |`,
    `| ${right.map((r) => (r ? '---:' : '---')).join(' | ')} |`,
    ...cells.map((r) => `| ${r.join(' | ')} |`),
  ];
  return `${lines.join('\n')}\n`;
}

export function toTextTable(t: Table): string {
  const cells = t.rows.map((row) => t.columns.map((c) => cellText(row[c]).replace(/\r?\n/g, ' ')));
  const widths = t.columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const right = numericColumns(t);
  const fmt = (r: readonly string[]): string =>
    r.map((v, i) => (right[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ').trimEnd();
  const lines = [fmt(t.columns), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(fmt)];
  lines.push(`(${t.rows.length} row${t.rows.length === 1 ? '' : 's'})`);
  return `${lines.join('\n')}\n`;
}

export function renderTable(t: Table, format: TableFormat): string {
  switch (format) {
    case 'csv':
      return toCsv(t);
    case 'json':
      return toJson(t);
    case 'md':
      return toMarkdown(t);
    case 'table':
      return toTextTable(t);
  }
}

/** "12.5000000000" -> "12.5", "3.000000" -> "3": exact, just without trailing zeros. */
export function trimDecimal(text: string): string {
  return text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
}
