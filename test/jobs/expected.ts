// Aggregates computed directly from fixture records, independently of DuckDB, in exact units:
// spend in 1e-10 USD (BigInt), counts and tokens as numbers.
import type { SpendRecord } from '../../src/spend/record.ts';

export interface Measures {
  requests: number;
  errors: number;
  unpriced: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  spend: bigint;
}

export function usdUnits(cost: number | null): bigint {
  return cost === null ? 0n : BigInt(Math.round(cost * 1e10));
}

/** DuckDB's DECIMAL text ("12.3400000000") as 1e-10 USD units. */
export function decimalUnits(text: unknown, scale = 10): bigint {
  const s = String(text);
  const neg = s.startsWith('-');
  const [int, frac = ''] = s.replace('-', '').split('.');
  const units = BigInt(int!) * 10n ** BigInt(scale) + BigInt((frac + '0'.repeat(scale)).slice(0, scale) || '0');
  return neg ? -units : units;
}

export function emptyMeasures(): Measures {
  return { requests: 0, errors: 0, unpriced: 0, prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, spend: 0n };
}

function add(m: Measures, r: SpendRecord): void {
  m.requests += 1;
  if (r.outcome !== 'success') m.errors += 1;
  if (r.cost_usd === null) m.unpriced += 1;
  m.prompt_tokens += r.prompt_tokens;
  m.completion_tokens += r.completion_tokens;
  m.total_tokens += r.total_tokens;
  m.spend += usdUnits(r.cost_usd);
}

/** Groups records by every label `labels(r)` returns (a record may count under several, or none). */
export function groupBy(records: readonly SpendRecord[], labels: (r: SpendRecord) => readonly string[]): Map<string, Measures> {
  const out = new Map<string, Measures>();
  for (const r of records) {
    for (const label of labels(r)) {
      let m = out.get(label);
      if (!m) out.set(label, (m = emptyMeasures()));
      add(m, r);
    }
  }
  return out;
}

export function utcDay(r: SpendRecord): string {
  return r.ts.slice(0, 10);
}

export function dayIn(timeZone: string): (r: SpendRecord) => string {
  const fmt = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
  return (r) => fmt.format(new Date(r.ts));
}

export function tagValues(r: SpendRecord, key: string): string[] {
  return [...new Set(r.tags)].filter((t) => t.startsWith(`${key}:`)).map((t) => t.slice(key.length + 1));
}
