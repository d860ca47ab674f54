// Rendering rows of query results and reports: an aligned text table, CSV (RFC 4180), JSON
// and a Markdown table. Values arrive JSON-safe from DuckDB (BIGINT and DECIMAL as exact
// strings); lists and maps are shown as JSON. Every cell goes through its format's escaping
// (render/escape.ts): values come from API clients.
import type { Json } from '../../db/rows.ts';
import { csvField, markdownText, terminalText } from './escape.ts';
import { SENTINEL_TEXTS } from './labels.ts';

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

export interface CsvOptions {
  /**
   * Columns whose null means "no value" and is written as this word (`(untagged)`); a real
   * value that reads as any such word is written as a literal ('(untagged)) so the two differ.
   */
  sentinels?: Readonly<Record<string, string>>;
}

export function toCsv(t: Table, options: CsvOptions = {}): string {
  const sentinels = options.sentinels ?? {};
  const cell = (row: Record<string, Json>, c: string): string => {
    const value = row[c];
    const word = Object.hasOwn(sentinels, c) ? sentinels[c] : undefined;
    if (word === undefined) return csvField(cellText(value));
    if (value === null || value === undefined) return word;
    const text = cellText(value);
    return csvField(text, { literal: SENTINEL_TEXTS.has(text) });
  };
  const lines = [t.columns.map((c) => csvField(c)).join(',')];
  for (const row of t.rows) lines.push(t.columns.map((c) => cell(row, c)).join(','));
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

/** A Markdown table of already-safe cell texts (see markdownText), numeric columns right-aligned. */
export function markdownGrid(header: readonly string[], rows: readonly (readonly string[])[], right: readonly boolean[]): string {
  const lines = [
    `| ${header.join(' | ')} |`,
    `| ${right.map((r) => (r ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
  return `${lines.join('\n')}\n`;
}

export function toMarkdown(t: Table): string {
  const cells = t.rows.map((row) => t.columns.map((c) => markdownText(cellText(row[c]))));
  return markdownGrid(t.columns.map(markdownText), cells, numericColumns(t));
}

/** An aligned text table of already-safe cell texts (see terminalText). */
export function textGrid(header: readonly string[], rows: readonly (readonly string[])[], right: readonly boolean[]): string[] {
  const widths = header.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: readonly string[]): string =>
    r.map((v, i) => (right[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ').trimEnd();
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)];
}

export function toTextTable(t: Table): string {
  const cells = t.rows.map((row) => t.columns.map((c) => terminalText(cellText(row[c]))));
  const lines = textGrid(t.columns.map(terminalText), cells, numericColumns(t));
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
