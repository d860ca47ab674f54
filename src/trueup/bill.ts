// The bill, as tagspend keeps it: lines of a provider's cost per UTC day, whatever the source
// (OpenAI's Costs API pages, Anthropic's cost report pages, the generic CSV). Every parser
// returns lines or problems (file, line, reason); an import with any problem stores nothing.
import { JsonSyntaxError, parseLocatedJson, type LocatedJson } from './located-json.ts';

export type BillSource = 'openai' | 'anthropic' | 'csv';
export const BILL_SOURCES: readonly BillSource[] = ['openai', 'anthropic', 'csv'];

export interface BillLine {
  /** The provider as spend records name it (`openai`, `anthropic`, or the CSV's column). */
  provider: string;
  /** The provider's billing day, UTC, YYYY-MM-DD. */
  day: string;
  /** Identifies the line within its day and provider (the fields the provider grouped by). */
  lineKey: string;
  /** The model the line bills, as the bill names it; null when the line is not per model. */
  model: string | null;
  description: string | null;
  /** Units of 1e-10 USD (src/trueup/money.ts). */
  amountUnits: bigint;
  source: BillSource;
  sourceFile: string;
  sourceLine: number;
  /** The line as the provider sent it (JSON text) or the CSV row. */
  raw: string;
}

export interface BillProblem {
  file: string;
  line: number;
  reason: string;
}

export interface ParsedBill {
  lines: BillLine[];
  problems: BillProblem[];
  /** Buckets (days) the file covered, including empty ones, for the summary. */
  days: number;
}

/** Problems past this many are counted, not listed. */
export const MAX_LISTED_PROBLEMS = 20;

export function problemText(p: BillProblem): string {
  return `${p.file}:${p.line}: ${p.reason}`;
}

/** A line key from the grouping fields: JSON keeps nulls and empty strings apart. */
export function lineKeyOf(fields: readonly (string | null)[]): string {
  return JSON.stringify(fields);
}

/**
 * Lines with the same provider, day and key in one import would be two prices for one thing:
 * each repeat becomes a problem naming the line it repeats.
 */
export function findRepeatedLines(lines: readonly BillLine[]): BillProblem[] {
  const seen = new Map<string, BillLine>();
  const problems: BillProblem[] = [];
  for (const l of lines) {
    const id = `${l.provider}\u0000${l.day}\u0000${l.lineKey}`;
    const first = seen.get(id);
    if (first === undefined) seen.set(id, l);
    else {
      problems.push({
        file: l.sourceFile,
        line: l.sourceLine,
        reason: `the same bill line as ${first.sourceFile}:${first.sourceLine} (provider ${l.provider}, day ${l.day}, line ${l.lineKey}); a bill line may appear once per import`,
      });
    }
  }
  return problems;
}

/** YYYY-MM-DD of a UTC midnight, or null when `ms` is not one. */
export function utcMidnightDay(ms: number): string | null {
  if (!Number.isFinite(ms) || ms % 86_400_000 !== 0) return null;
  return new Date(ms).toISOString().slice(0, 10);
}

/** Pages from one file: a page object, or an array of them (what `tagspend trueup fetch --save` writes). */
export function pagesOf(doc: LocatedJson): { page: unknown; path: string }[] {
  return Array.isArray(doc.value) ? doc.value.map((page, i) => ({ page, path: `$[${i}]` })) : [{ page: doc.value, path: '$' }];
}

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** What a cost export's bucket parser gets: the document, and where its findings go. */
export interface BucketScope {
  readonly doc: LocatedJson;
  readonly file: string;
  /** A problem at a JSON path (`$.data[0].amount`), reported at that path's line of the file. */
  problem(path: string, reason: string): void;
  /** The bucket is a day of the bill (counted in the summary, even when it has no lines). */
  day(): void;
  line(line: BillLine): void;
}

/**
 * The buckets of a provider's cost export (one page or several, see pagesOf), each handed to
 * `onBucket` with its path; JSON that does not parse and pages without a `data` array are
 * problems with their line, as are buckets that are not objects.
 */
export function parseCostPages(text: string, file: string, pageShape: string, onBucket: (bucket: Obj, path: string, scope: BucketScope) => void): ParsedBill {
  const bill: ParsedBill = { lines: [], problems: [], days: 0 };
  let doc: LocatedJson;
  try {
    doc = parseLocatedJson(text);
  } catch (err) {
    if (err instanceof JsonSyntaxError) return { ...bill, problems: [{ file, line: err.line, reason: `not valid JSON: ${err.message}` }] };
    throw err;
  }
  const scope: BucketScope = {
    doc,
    file,
    problem: (path, reason) => void bill.problems.push({ file, line: doc.lineOf(path), reason: `${path.replace(/^\$\.?/, '') || 'the file'}: ${reason}` }),
    day: () => void (bill.days += 1),
    line: (line) => void bill.lines.push(line),
  };
  for (const { page, path } of pagesOf(doc)) {
    if (!isObj(page) || !Array.isArray(page.data)) {
      scope.problem(path, `not ${pageShape} page (expected an object with a "data" array of buckets)`);
      continue;
    }
    page.data.forEach((bucket: unknown, b) => {
      const bp = `${path}.data[${b}]`;
      if (!isObj(bucket)) scope.problem(bp, 'a bucket must be an object');
      else onBucket(bucket, bp, scope);
    });
  }
  return bill;
}
