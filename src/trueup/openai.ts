// OpenAI's organization Costs API (`GET /v1/organization/costs`), as its API reference documents
// it (field names and units are listed in docs/trueup.md):
//   {"object":"page","data":[{"object":"bucket","start_time":1730419200,"end_time":1730505600,
//     "results":[{"object":"organization.costs.result","amount":{"value":0.06,"currency":"usd"},
//                 "line_item":null,"project_id":null}]}],"has_more":false,"next_page":null}
// start_time/end_time are Unix seconds (one UTC day with bucket_width=1d); amount.value is a
// JSON number in dollars (a decimal string is accepted too); currency is lowercase ISO 4217.
import { isObj, lineKeyOf, parseCostPages, utcMidnightDay, type ParsedBill } from './bill.ts';
import { inLineRange, parseUnits, unitsOfNumber } from './money.ts';

export const OPENAI_PROVIDER = 'openai';
const DAY_SECONDS = 86_400;

/**
 * The model a line item bills. The reference documents `line_item` only as a string; the
 * values seen name the model first (`gpt-4o-2024-08-06, input`). A first word without spaces is
 * taken as the model; anything else (a display name, `Web search tool calls`) bills no model
 * and is allocated over the day's OpenAI records as a whole.
 */
export function modelOfLineItem(lineItem: string | null): string | null {
  if (lineItem === null) return null;
  const m = /^([A-Za-z0-9][A-Za-z0-9._:/-]*)(?:,\s.*)?$/.exec(lineItem.trim());
  return m ? m[1]! : null;
}

const optString = (v: unknown): v is string | null | undefined => v === undefined || v === null || typeof v === 'string';

export function parseOpenAICosts(text: string, file: string): ParsedBill {
  return parseCostPages(text, file, 'an OpenAI Costs API', (bucket, bp, { doc, problem, day: countDay, line }) => {
    const start = bucket.start_time;
    const end = bucket.end_time;
    if (typeof start !== 'number' || !Number.isInteger(start)) return problem(`${bp}.start_time`, 'must be Unix seconds (an integer)');
    if (typeof end !== 'number' || end - start !== DAY_SECONDS) return problem(`${bp}.end_time`, 'must be start_time + 86400: only one-day buckets (bucket_width=1d) can be imported');
    const day = utcMidnightDay(start * 1000);
    if (day === null) return problem(`${bp}.start_time`, 'must be a UTC midnight');
    // The published OpenAPI schema names the list `result`; the API and its examples send `results`.
    const key = Array.isArray(bucket.results) ? 'results' : Array.isArray(bucket.result) ? 'result' : null;
    if (key === null) return problem(bp, 'a bucket needs a "results" array');
    countDay();
    (bucket[key] as unknown[]).forEach((r: unknown, j) => {
      const rp = `${bp}.${key}[${j}]`;
      if (!isObj(r)) return problem(rp, 'a result must be an object');
      if (r.object !== undefined && r.object !== 'organization.costs.result') {
        return problem(`${rp}.object`, `expected "organization.costs.result", got ${JSON.stringify(r.object)} (is this a usage page rather than a costs page?)`);
      }
      if (!isObj(r.amount)) return problem(`${rp}.amount`, 'must be an object {value, currency}');
      const currency = r.amount.currency;
      if (typeof currency !== 'string' || currency.toLowerCase() !== 'usd') {
        return problem(`${rp}.amount.currency`, `only USD bills can be imported, got ${JSON.stringify(currency)}`);
      }
      const value = r.amount.value;
      const vp = `${rp}.amount.value`;
      let units: bigint | null = null;
      if (typeof value === 'number') units = parseUnits(doc.numberText(vp) ?? '') ?? unitsOfNumber(value);
      else if (typeof value === 'string') units = parseUnits(value);
      if (units === null) return problem(vp, `must be a number of dollars, got ${JSON.stringify(value)}`);
      if (!inLineRange(units)) return problem(vp, 'is out of range (a bill line is at most 99,999,999.99 USD)');
      for (const f of ['line_item', 'project_id', 'api_key_id'] as const) {
        if (!optString(r[f])) return problem(`${rp}.${f}`, 'must be a string or null');
      }
      const lineItem = (r.line_item as string | null | undefined) ?? null;
      line({
        provider: OPENAI_PROVIDER,
        day,
        lineKey: lineKeyOf([lineItem, (r.project_id as string | null | undefined) ?? null, (r.api_key_id as string | null | undefined) ?? null]),
        model: modelOfLineItem(lineItem),
        description: lineItem,
        amountUnits: units,
        source: 'openai',
        sourceFile: file,
        sourceLine: doc.lineOf(rp),
        raw: JSON.stringify(r),
      });
    });
  });
}
