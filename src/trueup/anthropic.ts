// Anthropic's Admin API cost report (`GET /v1/organizations/cost_report`), as its reference
// documents it (field names and units in docs/trueup.md):
//   {"data":[{"starting_at":"2025-08-01T00:00:00Z","ending_at":"2025-08-02T00:00:00Z",
//     "results":[{"currency":"USD","amount":"123.78912","workspace_id":"wrkspc_01...",
//       "description":"Claude Sonnet 4 Usage - Input Tokens","cost_type":"tokens",
//       "context_window":"0-200k","model":"claude-sonnet-4-20250514","service_tier":"standard",
//       "token_type":"uncached_input_tokens"}]}],"has_more":true,"next_page":"page_..."}
// `amount` is a decimal STRING in the currency's lowest unit: "123.78912" USD is $1.2378912.
// model, description, cost_type, token_type ... are null unless the report is grouped by description.
import { isObj, lineKeyOf, parseCostPages, utcMidnightDay, type ParsedBill } from './bill.ts';
import { inLineRange, parseUnits, unitsOfNumber } from './money.ts';

export const ANTHROPIC_PROVIDER = 'anthropic';
/** The fields a result is grouped by: together they identify a line within its day. */
const KEY_FIELDS = ['workspace_id', 'description', 'cost_type', 'context_window', 'model', 'service_tier', 'token_type', 'inference_geo'] as const;
const CENTS = 2;


function rfc3339Ms(v: unknown): number | null {
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v)) return null;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? null : ms;
}

export function parseAnthropicCostReport(text: string, file: string): ParsedBill {
  return parseCostPages(text, file, 'an Anthropic cost report', (bucket, bp, { doc, problem, day: countDay, line }) => {
    const start = rfc3339Ms(bucket.starting_at);
    if (start === null) return problem(`${bp}.starting_at`, 'must be an RFC 3339 timestamp');
    const end = rfc3339Ms(bucket.ending_at);
    if (end === null || end - start !== 86_400_000) return problem(`${bp}.ending_at`, 'must be starting_at + 1 day: only one-day buckets (bucket_width=1d) can be imported');
    const day = utcMidnightDay(start);
    if (day === null) return problem(`${bp}.starting_at`, 'must be a UTC midnight');
    if (!Array.isArray(bucket.results)) return problem(bp, 'a bucket needs a "results" array');
    countDay();
    bucket.results.forEach((r: unknown, j) => {
      const rp = `${bp}.results[${j}]`;
      if (!isObj(r)) return problem(rp, 'a result must be an object');
      if (r.currency !== 'USD') return problem(`${rp}.currency`, `only USD bills can be imported, got ${JSON.stringify(r.currency)}`);
      const ap = `${rp}.amount`;
      // The reference documents a decimal string of cents; a number is read the same way.
      const units =
        typeof r.amount === 'string'
          ? parseUnits(r.amount, CENTS)
          : typeof r.amount === 'number'
            ? (parseUnits(doc.numberText(ap) ?? '', CENTS) ?? unitsOfNumber(r.amount, CENTS))
            : null;
      if (units === null) return problem(ap, `must be a decimal string of cents (e.g. "123.45" for $1.2345), got ${JSON.stringify(r.amount)}`);
      if (!inLineRange(units)) return problem(ap, 'is out of range (a bill line is at most 99,999,999.99 USD)');
      for (const f of KEY_FIELDS) {
        const v = r[f];
        if (v !== undefined && v !== null && typeof v !== 'string') return problem(`${rp}.${f}`, 'must be a string or null');
      }
      const field = (f: (typeof KEY_FIELDS)[number]): string | null => (r[f] as string | null | undefined) ?? null;
      line({
        provider: ANTHROPIC_PROVIDER,
        day,
        lineKey: lineKeyOf(KEY_FIELDS.map(field)),
        model: field('model'),
        description: field('description') ?? field('cost_type'),
        amountUnits: units,
        source: 'anthropic',
        sourceFile: file,
        sourceLine: doc.lineOf(rp),
        raw: JSON.stringify(r),
      });
    });
  });
}
