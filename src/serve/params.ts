// Query parameters of the read side, validated: anything wrong is a 400 whose `param` names the
// parameter. Dates are calendar days in the configured timezone, as in `tagspend report`.
import { InvalidRequestError } from '../errors.ts';
import { addDays, daysBetween, firstOfMonth, isDate } from '../report/calendar.ts';
import { parseDimension, DIMENSION_HELP, type Dimension } from '../report/dimensions.ts';
import type { DrillFilter } from '../report/drill.ts';

export const MAX_RANGE_DAYS = 3660;
export const MAX_FILTERS = 3;

export class Params {
  constructor(readonly query: URLSearchParams) {}

  /** A parameter given once (a repeated one is refused: which would win is not obvious). */
  text(name: string): string | undefined {
    const all = this.query.getAll(name);
    if (all.length > 1) throw new InvalidRequestError(`${name} is given ${all.length} times; give it once`, { param: name });
    const v = all[0]?.trim();
    return v === undefined || v === '' ? undefined : v;
  }

  date(name: string): string | undefined {
    const v = this.text(name);
    if (v !== undefined && !isDate(v)) throw new InvalidRequestError(`${name} must be a date YYYY-MM-DD, got ${JSON.stringify(v)}`, { param: name });
    return v;
  }

  /** A period of days: `from`/`to` (or other names), default the 1st of the month to today. */
  period(today: string, names: { from: string; to: string } = { from: 'from', to: 'to' }, required = false): { from: string; to: string } {
    const from = this.date(names.from);
    const to = this.date(names.to);
    if (required && from === undefined) throw new InvalidRequestError(`${names.from} is required (YYYY-MM-DD)`, { param: names.from });
    if (required && to === undefined) throw new InvalidRequestError(`${names.to} is required (YYYY-MM-DD)`, { param: names.to });
    const f = from ?? firstOfMonth(to ?? today);
    const t = to ?? (from !== undefined && from > today ? from : today);
    if (t < f) throw new InvalidRequestError(`${names.to} (${t}) is before ${names.from} (${f})`, { param: names.to });
    if (daysBetween(f, t) >= MAX_RANGE_DAYS) throw new InvalidRequestError(`the period is longer than ${MAX_RANGE_DAYS} days`, { param: names.from });
    return { from: f, to: t };
  }

  dimension(name: string, fallback?: string): Dimension {
    const v = this.text(name) ?? fallback;
    if (v === undefined) throw new InvalidRequestError(`${name} is required: ${DIMENSION_HELP}`, { param: name });
    try {
      return parseDimension(v);
    } catch (err) {
      throw new InvalidRequestError((err as Error).message, { param: name });
    }
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const v = this.text(name);
    if (v === undefined) return fallback;
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
      throw new InvalidRequestError(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`, { param: name });
    }
    return Number(v);
  }

  oneOf<T extends string>(name: string, choices: readonly T[], fallback?: T): T | undefined {
    const v = this.text(name);
    if (v === undefined) return fallback;
    if (!(choices as readonly string[]).includes(v)) throw new InvalidRequestError(`${name} must be one of ${choices.join(', ')}, got ${JSON.stringify(v)}`, { param: name });
    return v as T;
  }

  /** A page of rows, `limit` (up to `max`) after `offset`; undefined when neither is given (every row). */
  page(max: number): { offset: number; limit: number } | undefined {
    const offset = this.int('offset', 0, 0, 1_000_000_000);
    if (this.text('limit') === undefined) {
      if (this.text('offset') !== undefined) throw new InvalidRequestError('offset needs limit', { param: 'limit' });
      return undefined;
    }
    return { offset, limit: this.int('limit', max, 1, max) };
  }

  /** Drill-down steps, `f=tag:team=search` (repeatable, up to MAX_FILTERS). */
  filters(name = 'f'): DrillFilter[] {
    const all = this.query.getAll(name);
    if (all.length > MAX_FILTERS) throw new InvalidRequestError(`at most ${MAX_FILTERS} ${name} filters`, { param: name });
    return all.map((raw) => {
      const eq = raw.indexOf('=', raw.startsWith('tag:') || raw.startsWith('meta:') ? raw.indexOf(':') + 1 : 0);
      if (eq <= 0 || eq === raw.length - 1) throw new InvalidRequestError(`${name} must look like tag:team=search or user=u1, got ${JSON.stringify(raw)}`, { param: name });
      try {
        return { dimension: parseDimension(raw.slice(0, eq)), value: raw.slice(eq + 1) };
      } catch (err) {
        throw new InvalidRequestError((err as Error).message, { param: name });
      }
    });
  }
}

/** The period of `days` days ending `to`. */
export function lastDays(to: string, days: number): { from: string; to: string } {
  return { from: addDays(to, -(days - 1)), to };
}

/** A filter back into its query form (`tag:team=search`). */
export function filterText(f: DrillFilter): string {
  const d = f.dimension;
  const dim = d.kind === 'tag_key' ? `tag:${d.key}` : d.kind === 'meta' ? `meta:${d.key}` : d.kind;
  return `${dim}=${f.value}`;
}
