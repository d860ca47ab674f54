// Numbers for people: money as currency, counts with thousands separators, percentages and
// changes. Inputs are the exact decimal strings DuckDB returns; rounding is done on the digits
// (half away from zero), never through floating point, so `$0.01` is never `$0.00999999`.
// Machine formats (CSV, JSON, SQL) keep the exact values and never go through here.

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

interface Parts {
  negative: boolean;
  int: string;
  frac: string;
}

function parts(text: string): Parts | null {
  const m = DECIMAL.exec(text.trim());
  if (!m) return null;
  return { negative: m[1] === '-', int: m[2]!.replace(/^0+(?=\d)/, ''), frac: m[3] ?? '' };
}

/** Rounds a decimal string to `places` decimals, half away from zero; exact. */
export function roundDecimal(text: string, places: number): string {
  const p = parts(text);
  if (!p) return text;
  const digits = BigInt(p.int + (p.frac + '0'.repeat(places + 1)).slice(0, places + 1));
  const rounded = (digits + 5n) / 10n;
  const s = rounded.toString().padStart(places + 1, '0');
  const int = s.slice(0, s.length - places);
  const frac = s.slice(s.length - places);
  const zero = rounded === 0n;
  return `${p.negative && !zero ? '-' : ''}${int}${places > 0 ? `.${frac}` : ''}`;
}

function group(int: string): string {
  return int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** `1234567.891` -> `1,234,567.89` (at most `places` decimals, trailing zeros dropped unless `fixed`). */
export function formatNumber(text: string | number | null | undefined, places = 2, fixed = false): string {
  if (text === null || text === undefined || text === '') return '';
  const r = roundDecimal(String(text), places);
  const p = parts(r);
  if (!p) return String(text);
  const frac = fixed ? p.frac : p.frac.replace(/0+$/, '');
  return `${p.negative ? '-' : ''}${group(p.int)}${frac ? `.${frac}` : ''}`;
}

/** Whole counts (requests, tokens): `1,234,567`; split counts keep up to 2 decimals (`12.33`). */
export function formatCount(text: string | number | null | undefined): string {
  return formatNumber(text, 2);
}

/**
 * Money. `summary`: always to the cent (`$1,234.57`). `cell`: to the cent too, except a non-zero
 * amount under a cent, which shows its first two significant digits (`$0.00042`) instead of a
 * misleading `$0.00`.
 */
export function formatUsd(text: string | number | null | undefined, style: 'summary' | 'cell' = 'cell'): string {
  if (text === null || text === undefined || text === '') return '';
  const s = String(text);
  const p = parts(s);
  if (!p) return s;
  const sign = p.negative ? '-' : '';
  const tiny = p.int === '0' && /^00/.test(p.frac.padEnd(2, '0')) && /[1-9]/.test(p.frac);
  if (style === 'cell' && tiny) {
    const lead = p.frac.search(/[1-9]/);
    const r = roundDecimal(s, lead + 2);
    const rp = parts(r)!;
    return `${sign}$0.${rp.frac.replace(/0+$/, '')}`;
  }
  const r = roundDecimal(s, 2);
  const rp = parts(r)!;
  return `${rp.negative ? '-' : ''}$${group(rp.int)}.${rp.frac}`;
}

/** A share in percent (`12.34` -> `12.34%`). */
export function formatPercent(text: string | number | null | undefined, places = 2): string {
  if (text === null || text === undefined || text === '') return '';
  return `${formatNumber(text, places, true)}%`;
}

/**
 * Change from `previous` to `current` in percent, exact to one decimal: `+12.5%`, `-3.0%`;
 * `new` when there was nothing before and something now; '' when both are zero.
 */
export function changePercent(current: string, previous: string): string {
  const units = (t: string): bigint => {
    const p = parts(t);
    if (!p) return 0n;
    const v = BigInt(p.int + (p.frac + '0'.repeat(10)).slice(0, 10));
    return p.negative ? -v : v;
  };
  const c = units(current);
  const p = units(previous);
  if (p === 0n) return c === 0n ? '' : 'new';
  const tenths = ((c - p) * 2000n) / (p < 0n ? -p : p); // in 1/20 percent, rounded below
  const rounded = (tenths + (tenths >= 0n ? 1n : -1n)) / 2n; // tenths of a percent
  const abs = rounded < 0n ? -rounded : rounded;
  const sign = rounded < 0n ? '-' : '+';
  return `${sign}${group((abs / 10n).toString())}.${abs % 10n}%`;
}
