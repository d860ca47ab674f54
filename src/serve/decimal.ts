// Exact sums and differences of the decimal strings DuckDB returns (money to 1e-10 USD), so the
// read side never adds money in floating point; numbers only for drawing and sorting.
import { trimDecimal } from '../report/render/format.ts';

const PLACES = 10;
const SCALE = 10n ** BigInt(PLACES);

function units(text: string): bigint {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!m) return 0n;
  const v = BigInt(m[2]!) * SCALE + BigInt(((m[3] ?? '') + '0'.repeat(PLACES)).slice(0, PLACES));
  return m[1] === '-' ? -v : v;
}

function text(u: bigint): string {
  const negative = u < 0n;
  const abs = negative ? -u : u;
  return trimDecimal(`${negative ? '-' : ''}${abs / SCALE}.${(abs % SCALE).toString().padStart(PLACES, '0')}`);
}

export function sumDecimals(values: readonly string[]): string {
  return text(values.reduce((s, v) => s + units(v), 0n));
}

export function subtractDecimals(a: string, b: string): string {
  return text(units(a) - units(b));
}

export function decimalToNumber(value: string | null | undefined): number {
  return value ? Number(value) : 0;
}
