// Budget windows: which stretch of time a tag's spend is counted over, from
// (budget_duration, now, timezone) alone. Being a pure function of the clock is what lets every
// proxy and the budgets job agree on the window without sharing any state.
//
// Rule (docs/budgets.md):
//   Ns, Nm, Nh  fixed blocks counted from the Unix epoch (timezone-independent)
//   1d          local midnight to the next local midnight
//   7d, 1w      Monday 00:00 local to the next Monday
//   30d, 1mo    the 1st of the month 00:00 local to the 1st of the next month
//   other Nd    blocks of N local calendar days counted from 1970-01-01
//   Nw          blocks of N weeks counted from Monday 1970-01-05
//   Nmo         blocks of N months counted from January 1970 (3mo = quarters, 12mo = years)
import { InvalidRequestError } from '../errors.ts';

export type DurationUnit = 's' | 'm' | 'h' | 'd' | 'w' | 'mo';

export interface BudgetDuration {
  count: number;
  unit: DurationUnit;
}

export interface BudgetWindow {
  /** First millisecond of the window (inclusive). */
  start: number;
  /** First millisecond of the next window: when the budget resets. */
  resetAt: number;
}

const DURATION = /^([1-9]\d{0,5})(s|m|h|d|w|mo)$/;
const UNIT_MS: Partial<Record<DurationUnit, number>> = { s: 1000, m: 60_000, h: 3_600_000 };
const DAY_MS = 86_400_000;
/** Day number (since 1970-01-01) of Monday 1970-01-05. */
const FIRST_MONDAY = 4;

/** Parses `30d`, `1mo`, `12h`...; null when the text is not a duration. */
export function parseDuration(text: string): BudgetDuration | null {
  const m = DURATION.exec(text.trim());
  if (!m) return null;
  return { count: Number(m[1]), unit: m[2] as DurationUnit };
}

export function isValidDuration(text: string): boolean {
  return parseDuration(text) !== null;
}

/** The longest budget window: 100 years (1200mo, 5217w, 36525d; 876600h). */
export const MAX_DURATION_DAYS = 36_525;
const NOMINAL_DAYS: Record<DurationUnit, number> = { s: 1 / 86_400, m: 1 / 1440, h: 1 / 24, d: 1, w: 7, mo: 36_525 / 1200 };

/** Whether a well-formed duration is at most MAX_DURATION_DAYS long (its windows then end before the year 9999). */
export function isWithinMaxDuration(text: string): boolean {
  const d = parseDuration(text);
  return d !== null && d.count * NOMINAL_DAYS[d.unit] <= MAX_DURATION_DAYS + 1e-9;
}

const formats = new Map<string, Intl.DateTimeFormat>();

function formatFor(timeZone: string): Intl.DateTimeFormat {
  let f = formats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formats.set(timeZone, f);
  }
  return f;
}

interface LocalTime {
  year: number;
  /** 0-11 */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function localTime(ms: number, timeZone: string): LocalTime {
  const out: Record<string, number> = {};
  for (const p of formatFor(timeZone).formatToParts(ms)) {
    if (p.type !== 'literal') out[p.type] = Number(p.value);
  }
  return { year: out.year!, month: out.month! - 1, day: out.day!, hour: out.hour! % 24, minute: out.minute!, second: out.second! };
}

/** How far `timeZone` is ahead of UTC at the instant `ms` (whole seconds). */
function offsetAt(ms: number, timeZone: string): number {
  const t = localTime(ms, timeZone);
  const asUtc = Date.UTC(t.year, t.month, t.day, t.hour, t.minute, t.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant local midnight starts the given calendar date. Two passes settle the offset
 * across a DST change; where midnight itself is skipped (a spring-forward at 00:00) the result
 * is the first local instant of that day.
 */
export function localMidnight(year: number, month: number, day: number, timeZone: string): number {
  const wall = Date.UTC(year, month, day);
  const first = wall - offsetAt(wall, timeZone);
  const second = wall - offsetAt(first, timeZone);
  if (second === first) return first;
  // The two offsets disagree: midnight is in a gap or an overlap. Take the earliest instant
  // whose local date is the wanted day.
  const candidates = [first, second].sort((a, b) => a - b);
  for (const c of candidates) {
    const t = localTime(c, timeZone);
    if (t.year === year && t.month === month && t.day === day) return c;
  }
  return candidates[1]!;
}

/** The local calendar day of `ms` as a day number since 1970-01-01. */
function localDayNumber(ms: number, timeZone: string): number {
  const t = localTime(ms, timeZone);
  return Math.round(Date.UTC(t.year, t.month, t.day) / DAY_MS);
}

function midnightOfDayNumber(dayNumber: number, timeZone: string): number {
  const d = new Date(dayNumber * DAY_MS);
  return localMidnight(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), timeZone);
}

function floorTo(value: number, step: number, origin = 0): number {
  return origin + Math.floor((value - origin) / step) * step;
}

/** The window `nowMs` falls in for `duration` (text or parsed) in `timeZone` (IANA name). */
export function budgetWindow(duration: string | BudgetDuration, nowMs: number, timeZone = 'UTC'): BudgetWindow {
  const d = typeof duration === 'string' ? parseDuration(duration) : duration;
  if (!d) throw new InvalidRequestError(`budget_duration must look like 30s, 10m, 12h, 1d, 7d, 1w, 1mo (got ${JSON.stringify(duration)})`, { param: 'budget_duration' });
  const unitMs = UNIT_MS[d.unit];
  if (unitMs !== undefined) {
    const step = d.count * unitMs;
    const start = floorTo(nowMs, step);
    return { start, resetAt: start + step };
  }
  let { count, unit } = d;
  if (unit === 'd' && count === 7) unit = 'w', count = 1;
  else if (unit === 'd' && count === 30) unit = 'mo', count = 1;

  if (unit === 'd' || unit === 'w') {
    const days = unit === 'w' ? count * 7 : count;
    const origin = unit === 'w' ? FIRST_MONDAY : 0;
    const first = floorTo(localDayNumber(nowMs, timeZone), days, origin);
    return { start: midnightOfDayNumber(first, timeZone), resetAt: midnightOfDayNumber(first + days, timeZone) };
  }
  // Months
  const t = localTime(nowMs, timeZone);
  const index = floorTo((t.year - 1970) * 12 + t.month, count);
  const at = (i: number) => localMidnight(1970 + Math.floor(i / 12), ((i % 12) + 12) % 12, 1, timeZone);
  return { start: at(index), resetAt: at(index + count) };
}

/** Is `timeZone` a zone Intl knows? (Intl throws a RangeError for unknown names.) */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatFor(timeZone);
    return true;
  } catch {
    return false;
  }
}
