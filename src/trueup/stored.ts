// A provider's bill for one UTC day as the store keeps it: `bills/<provider>/<YYYY-MM-DD>.json`,
// every line of that day, so that a DuckDB file rebuilt from the store gets its bills back
// (docs/trueup.md, "Bills in the store"). The text is a function of the lines alone: writing the
// same day twice gives the same bytes.
import { BILL_SOURCES, findRepeatedLines, isObj, type BillLine, type BillSource } from './bill.ts';
import { formatUnits, inLineRange, parseUnits } from './money.ts';

export const BILLS_PREFIX = 'bills/';
const KIND = 'tagspend.bill_day';
const VERSION = 1;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The object of one provider's day; the provider is URL-encoded (a CSV may name any provider). */
export function billObjectKey(provider: string, day: string): string {
  return `${BILLS_PREFIX}${encodeURIComponent(provider)}/${day}.json`;
}

/** Provider and day from an object key, or null for a key that is not a bill day's. */
export function billDayOfKey(key: string): { provider: string; day: string } | null {
  const m = /^bills\/([^/]+)\/(\d{4}-\d{2}-\d{2})\.json$/.exec(key);
  if (!m) return null;
  try {
    return { provider: decodeURIComponent(m[1]!), day: m[2]! };
  } catch {
    return null;
  }
}

/** A stored line: BillLine's fields with the amount as exact decimal text. */
export interface StoredBillLine {
  line_key: string;
  model: string | null;
  description: string | null;
  amount_usd: string;
  source: string;
  source_file: string | null;
  source_line: number | null;
  raw: string | null;
}

/** The object's text: the lines sorted by line key, one per line of text. */
export function billDayText(provider: string, day: string, lines: readonly StoredBillLine[]): string {
  const sorted = [...lines].sort((a, b) => (a.line_key < b.line_key ? -1 : a.line_key > b.line_key ? 1 : 0));
  const head = JSON.stringify({ kind: KIND, version: VERSION, provider, day });
  const body = sorted.map((l) => {
    const units = parseUnits(l.amount_usd);
    if (units === null) throw new Error(`bill ${provider} ${day}: amount ${JSON.stringify(l.amount_usd)} is not decimal text`);
    return JSON.stringify({
      line_key: l.line_key,
      model: l.model,
      description: l.description,
      amount_usd: formatUnits(units),
      source: l.source,
      source_file: l.source_file,
      source_line: l.source_line,
      raw: l.raw,
    });
  });
  return `${head.slice(0, -1)},"lines":[\n${body.join(',\n')}\n]}\n`;
}

const text = (v: unknown): v is string => typeof v === 'string';
const textOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';

/**
 * The lines of a stored bill day, checked as strictly as an import: throws with the key and the
 * reason for anything else (the object is then skipped, never half loaded).
 */
export function parseBillDay(key: string, body: string): BillLine[] {
  const fail = (reason: string): never => {
    throw new Error(`${key}: not a tagspend bill day: ${reason}`);
  };
  const where = billDayOfKey(key) ?? fail('the key is not bills/<provider>/<YYYY-MM-DD>.json');
  // One key per provider and day: another spelling of the same provider would be a second bill.
  if (billObjectKey(where.provider, where.day) !== key) fail(`the provider is spelt differently from ${billObjectKey(where.provider, where.day)}`);
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch (err) {
    return fail(`not valid JSON (${(err as Error).message})`);
  }
  if (!isObj(doc) || doc.kind !== KIND) return fail(`"kind" must be "${KIND}"`);
  if (doc.version !== VERSION) return fail(`version ${JSON.stringify(doc.version)} is not one this tagspend reads (${VERSION})`);
  if (doc.provider !== where.provider || doc.day !== where.day || !DAY.test(where.day)) return fail(`provider and day (${JSON.stringify(doc.provider)}, ${JSON.stringify(doc.day)}) do not match the key`);
  if (!Array.isArray(doc.lines)) return fail('"lines" must be an array');
  const lines = doc.lines.map((l: unknown, i: number): BillLine => {
    const at = `lines[${i}]`;
    if (!isObj(l)) return fail(`${at} must be an object`);
    if (!text(l.line_key) || !textOrNull(l.model) || !textOrNull(l.description) || !textOrNull(l.source_file) || !textOrNull(l.raw)) {
      return fail(`${at}: line_key must be text; model, description, source_file and raw text or null`);
    }
    if (!BILL_SOURCES.includes(l.source as BillSource)) return fail(`${at}.source must be one of ${BILL_SOURCES.join(', ')}`);
    if (l.source_line !== null && !Number.isSafeInteger(l.source_line)) return fail(`${at}.source_line must be an integer or null`);
    const units = text(l.amount_usd) ? parseUnits(l.amount_usd) : null;
    if (units === null || !inLineRange(units)) return fail(`${at}.amount_usd must be decimal text of dollars within DECIMAL(18,10), got ${JSON.stringify(l.amount_usd)}`);
    return {
      provider: where.provider,
      day: where.day,
      lineKey: l.line_key,
      model: l.model,
      description: l.description,
      amountUnits: units,
      source: l.source as BillSource,
      sourceFile: l.source_file ?? '',
      sourceLine: (l.source_line as number | null) ?? 0,
      raw: l.raw ?? '',
    };
  });
  const repeated = findRepeatedLines(lines);
  if (repeated.length > 0) fail(`a line key appears twice (${lines[0] === undefined ? '' : repeated[0]!.reason})`);
  return lines;
}
