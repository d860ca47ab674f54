// The generic bill CSV, for any other provider or an invoice typed in by hand (docs/trueup.md):
//   date,provider,model,description,amount_usd
//   2026-11-03,mistral,mistral-large-latest,,12.40
// A header row names the columns (any order, case-insensitive); `model` and `description` may
// be left out or empty. Fields follow RFC 4180 (quotes, doubled quotes, line breaks in quotes).
import { isDate } from '../report/calendar.ts';
import { lineKeyOf, type BillLine, type BillProblem, type ParsedBill } from './bill.ts';
import { inLineRange, parseUnits } from './money.ts';

export const CSV_COLUMNS = ['date', 'provider', 'model', 'description', 'amount_usd'] as const;
const REQUIRED = ['date', 'provider', 'amount_usd'] as const;
/** The provider names spend records use: lowercase, as in config's `providers` keys. */
const PROVIDER = /^[a-z0-9][a-z0-9_-]*$/;

interface Row {
  line: number;
  fields: string[];
  raw: string;
}

/** Splits CSV text into rows of fields, each with the line it starts on; null + problem on an open quote. */
function splitRows(text: string, file: string, problems: BillProblem[]): Row[] {
  const rows: Row[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  let rowStart = 0;
  let fieldStarted = false;
  const endRow = (end: number): void => {
    fields.push(field);
    const raw = text.slice(rowStart, end);
    if (!(fields.length === 1 && fields[0]!.trim() === '' && !fieldStarted)) rows.push({ line: rowLine, fields, raw });
    fields = [];
    field = '';
    fieldStarted = false;
  };
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  rowStart = i;
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
      continue;
    }
    if (c === '"' && field.trim() === '') {
      field = '';
      quoted = true;
      fieldStarted = true;
    } else if (c === ',') {
      fields.push(field);
      field = '';
      fieldStarted = true;
    } else if (c === '\n' || c === '\r') {
      endRow(i);
      if (c === '\r' && text[i + 1] === '\n') i++;
      line++;
      rowLine = line;
      rowStart = i + 1;
    } else field += c;
  }
  if (quoted) {
    problems.push({ file, line: rowLine, reason: 'a quoted field is never closed' });
    return rows;
  }
  if (field !== '' || fields.length > 0) endRow(text.length);
  return rows;
}

export function parseBillCsv(text: string, file: string): ParsedBill {
  const problems: BillProblem[] = [];
  const lines: BillLine[] = [];
  const rows = splitRows(text, file, problems);
  if (problems.length > 0) return { lines, problems, days: 0 };
  const header = rows.shift();
  if (header === undefined) return { lines, problems: [{ file, line: 1, reason: `empty file: expected a header row (${CSV_COLUMNS.join(',')})` }], days: 0 };
  const names = header.fields.map((f) => f.trim().toLowerCase());
  const col = new Map<string, number>();
  names.forEach((n, i) => {
    if (!(CSV_COLUMNS as readonly string[]).includes(n)) problems.push({ file, line: header.line, reason: `unknown column ${JSON.stringify(n)}; the columns are ${CSV_COLUMNS.join(', ')}` });
    else if (col.has(n)) problems.push({ file, line: header.line, reason: `column ${n} appears twice` });
    else col.set(n, i);
  });
  for (const r of REQUIRED) if (!col.has(r)) problems.push({ file, line: header.line, reason: `missing column ${r} (the header must name ${REQUIRED.join(', ')})` });
  if (problems.length > 0) return { lines, problems, days: 0 };

  const days = new Set<string>();
  for (const row of rows) {
    const bad = (reason: string): void => void problems.push({ file, line: row.line, reason });
    if (row.fields.length !== names.length) {
      bad(`expected ${names.length} fields, found ${row.fields.length}`);
      continue;
    }
    const get = (name: string): string => {
      const i = col.get(name);
      return i === undefined ? '' : row.fields[i]!.trim();
    };
    const date = get('date');
    if (!isDate(date)) {
      bad(`date must be YYYY-MM-DD, got ${JSON.stringify(date)}`);
      continue;
    }
    const provider = get('provider').toLowerCase();
    if (!PROVIDER.test(provider)) {
      bad(`provider must be a provider name as spend records carry it (e.g. openai, anthropic, mistral), got ${JSON.stringify(get('provider'))}`);
      continue;
    }
    const amountText = get('amount_usd');
    const units = parseUnits(amountText);
    if (units === null) {
      bad(`amount_usd must be a decimal number of dollars (e.g. 12.40 or -3.5), got ${JSON.stringify(amountText)}`);
      continue;
    }
    if (!inLineRange(units)) {
      bad('amount_usd is out of range (a bill line is at most 99,999,999.99 USD)');
      continue;
    }
    const model = get('model') || null;
    const description = get('description') || null;
    days.add(date);
    lines.push({
      provider,
      day: date,
      lineKey: lineKeyOf([model, description]),
      model,
      description,
      amountUnits: units,
      source: 'csv',
      sourceFile: file,
      sourceLine: row.line,
      raw: row.raw,
    });
  }
  return { lines, problems, days: days.size };
}
