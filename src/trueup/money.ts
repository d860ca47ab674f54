// Exact money for bills: amounts are held as integer units of 1e-10 USD (the precision of every
// DECIMAL money column in the DuckDB file), parsed from the decimal text a provider sent, never
// through a float. Rounding to units is half-to-even, once, on import (docs/trueup.md).

/** Decimal places of the money columns (DECIMAL(18,10) / DECIMAL(38,10)). */
export const MONEY_SCALE = 10;
const UNIT = 10n ** BigInt(MONEY_SCALE);
const DECIMAL_TEXT = /^([+-]?)(\d+)(?:\.(\d*))?$|^([+-]?)\.(\d+)$/;
/** Per line; DECIMAL(18,10) holds up to 1e8 - 1e-10. */
const MAX_UNITS = 10n ** 18n - 1n;

/**
 * Units of 1e-10 from decimal text such as `"123.78912"` or `"-0.5"` (no exponent, no
 * thousands separators), divided by 10^`shift` first (2 turns cents into dollars). Null when the
 * text is not a plain decimal number.
 */
export function parseUnits(text: string, shift = 0): bigint | null {
  const m = DECIMAL_TEXT.exec(text.trim());
  if (!m) return null;
  const sign = (m[1] ?? m[4]) === '-' ? -1n : 1n;
  const intPart = m[2] ?? '0';
  const fracPart = m[3] ?? m[5] ?? '';
  // value = digits / 10^(frac.length + shift); units = value * 10^SCALE
  const digits = BigInt(intPart + fracPart);
  const exp = MONEY_SCALE - fracPart.length - shift;
  if (exp >= 0) return sign * digits * 10n ** BigInt(exp);
  return sign * divideHalfEven(digits, 10n ** BigInt(-exp));
}

/** A JSON number as the text that reads back to it: exact for what a float can hold. */
export function unitsOfNumber(value: number, shift = 0): bigint | null {
  if (!Number.isFinite(value)) return null;
  // toString may use an exponent (1e-7); toFixed(20) never does, but shows binary noise, so the
  // shortest round-trip form is expanded by hand instead.
  const text = String(value);
  const e = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (!e) return parseUnits(text, shift);
  const digits = (e[2] ?? '') + (e[3] ?? '');
  const point = (e[2] ?? '').length + Number(e[4]);
  const plain = point <= 0 ? `0.${'0'.repeat(-point)}${digits}` : point >= digits.length ? digits + '0'.repeat(point - digits.length) : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return parseUnits(`${e[1]}${plain}`, shift);
}

function divideHalfEven(n: bigint, d: bigint): bigint {
  const q = n / d;
  const r = n % d;
  if (r * 2n > d || (r * 2n === d && q % 2n === 1n)) return q + 1n;
  return q;
}

export function inLineRange(units: bigint): boolean {
  return units >= -MAX_UNITS && units <= MAX_UNITS;
}

/** `1234500000000n` -> `"123.4500000000"`: the DECIMAL(…,10) text DuckDB parses exactly. */
export function formatUnits(units: bigint): string {
  const sign = units < 0n ? '-' : '';
  const abs = units < 0n ? -units : units;
  return `${sign}${abs / UNIT}.${String(abs % UNIT).padStart(MONEY_SCALE, '0')}`;
}
