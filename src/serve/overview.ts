// The overview's figures, from the daily rollups: this month against last month and a projection
// to month end, a daily series of the top values of one tag key, the movers against the period
// before, and how much spend carries no tag. The page (pages/overview.ts) and GET /api/overview
// both show exactly this object.
import { selectRows } from '../db/rows.ts';
import { sql } from '../db/sql.ts';
import type { WithConnection } from '../db/with-connection.ts';
import { localMidnight } from '../budget/window.ts';
import { addDays, daysInMonth, firstOfMonth, localDate } from '../report/calendar.ts';
import { sharePercent } from '../report/query.ts';
import { decimalToNumber, sumDecimals, subtractDecimals } from './decimal.ts';

export const TOP_SERIES = 8;
export const MOVERS = 6;

export interface Overview {
  today: string;
  timezone: string;
  month: {
    from: string;
    to: string;
    spend_usd: string;
    /** Last month over the same days (1st to the same day of the month). */
    last_month_same_days: { from: string; to: string; spend_usd: string };
    last_month: { from: string; to: string; spend_usd: string };
    /** This month's spend at its current daily rate, to month end (null before any data). */
    projected_usd: string | null;
  };
  period: { from: string; to: string; days: number };
  tag_key: string | null;
  tag_keys: string[];
  daily: { days: string[]; series: { value: string | null; other?: boolean; spend_usd: string; daily_usd: string[] }[] };
  movers: { value: string | null; spend_usd: string; previous_spend_usd: string; change_usd: string }[];
  untagged: {
    /** Requests with no tag at all. */
    no_tags_usd: string;
    no_tags_share: string;
    /** Requests without a value of the chosen tag key. */
    without_key_usd: string;
    without_key_share: string;
    total_usd: string;
  };
}

function midnightOf(date: string, timezone: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return localMidnight(y, m - 1, d, timezone);
}

/**
 * Three queries on the rollups, side by side when `use` hands out several connections: the
 * daily totals (every total below is an exact sum of these days), the tag keys of the period,
 * and the chosen key's values by day (when no key is asked for, after the keys: the default is
 * the one with the most spend). `asOfMs`: the instant the data is complete up to (the newest
 * record), for the projection's elapsed time; `nowMs` decides today's date.
 */
export async function buildOverview(
  use: WithConnection,
  options: { nowMs: number; asOfMs: number | null; timezone: string; tagKey: string | null; days: number; defaultTagKey?: string | undefined },
): Promise<Overview> {
  const { timezone } = options;
  const today = localDate(new Date(options.nowMs), timezone);
  const monthStart = firstOfMonth(today);
  const lastMonthEnd = addDays(monthStart, -1);
  const lastMonthStart = firstOfMonth(lastMonthEnd);
  const dayOfMonth = Number(today.slice(8, 10));
  const sameDayLastMonth = addDays(lastMonthStart, Math.min(dayOfMonth, daysInMonth(lastMonthStart)) - 1);
  const period = { from: addDays(today, -(options.days - 1)), to: today, days: options.days };
  const previous = { from: addDays(period.from, -options.days), to: addDays(period.from, -1) };
  const range = { from: period.from, to: period.to };

  const valuesOf = (key: string) => use((conn) => selectRows(conn, sql('serve/daily_tag_key'), { key, before: previous.from, ...range }));
  const [dayRows, keyRows, asked] = await Promise.all([
    use((conn) => selectRows(conn, sql('serve/overview_days'), { first: lastMonthStart < previous.from ? lastMonthStart : previous.from, ...range })),
    use((conn) => selectRows(conn, sql('serve/tag_keys'), range)),
    options.tagKey === null ? null : valuesOf(options.tagKey),
  ]);
  const keys = keyRows.map((r) => String(r.tag_key));
  const tagKey = options.tagKey ?? (options.defaultTagKey && keys.includes(options.defaultTagKey) ? options.defaultTagKey : (keys[0] ?? null));
  const valueRows = asked ?? (tagKey === null ? [] : await valuesOf(tagKey));

  // Each day's total as the rollup has it; a period's spend is the exact sum of its days.
  const dayTotals = dayRows.filter((r) => r.kind === 'day').map((r) => ({ day: String(r.day), spend: String(r.spend_usd) }));
  const spendBetween = (from: string, to: string): string => sumDecimals(dayTotals.filter((t) => t.day >= from && t.day <= to).map((t) => t.spend));
  const noTags = String(dayRows.find((r) => r.kind === 'no_tags')?.spend_usd ?? '0');

  const monthSpend = spendBetween(monthStart, today);
  const lastSame = spendBetween(lastMonthStart, sameDayLastMonth);
  const lastFull = spendBetween(lastMonthStart, lastMonthEnd);
  // Elapsed part of the month up to the data's newest record (not the clock: a stale snapshot
  // would otherwise project too little).
  const monthStartMs = midnightOf(monthStart, timezone);
  const monthEndMs = midnightOf(addDays(monthStart, daysInMonth(monthStart)), timezone);
  const asOf = Math.min(options.asOfMs ?? options.nowMs, options.nowMs, monthEndMs);
  const elapsed = asOf - monthStartMs;
  const projected = elapsed > 3_600_000 ? ((decimalToNumber(monthSpend) * (monthEndMs - monthStartMs)) / elapsed).toFixed(10) : null;

  const days: string[] = [];
  for (let d = period.from; d <= period.to; d = addDays(d, 1)) days.push(d);
  const totalByDay = new Map(dayTotals.filter((t) => t.day >= period.from).map((t) => [t.day, t.spend]));
  const periodTotal = sumDecimals([...totalByDay.values()]);

  const daily: Overview['daily'] = { days, series: [] };
  const movers: Overview['movers'] = [];
  let withoutKey = periodTotal;
  if (tagKey !== null) {
    const byValue = new Map<string, Map<string, string>>();
    const prevByValue = new Map<string, string[]>();
    for (const r of valueRows) {
      const v = String(r.value);
      if (r.day === null) {
        prevByValue.set(v, [...(prevByValue.get(v) ?? []), String(r.spend_usd)]);
        continue;
      }
      if (!byValue.has(v)) byValue.set(v, new Map());
      byValue.get(v)!.set(String(r.day), String(r.spend_usd));
    }
    const valueTotal = new Map([...byValue].map(([v, m]) => [v, sumDecimals([...m.values()])]));
    const ranked = [...valueTotal].sort((a, b) => decimalToNumber(b[1]) - decimalToNumber(a[1]) || (a[0] < b[0] ? -1 : 1));
    const top = ranked.slice(0, TOP_SERIES).map(([v]) => v);
    const rest = ranked.slice(TOP_SERIES).map(([v]) => v);
    const taggedByDay = days.map((d) => sumDecimals([...byValue.values()].map((m) => m.get(d) ?? '0')));
    const untaggedDaily = days.map((d, i) => subtractDecimals(totalByDay.get(d) ?? '0', taggedByDay[i]!));
    for (const v of top) {
      const m = byValue.get(v)!;
      daily.series.push({ value: v, spend_usd: valueTotal.get(v)!, daily_usd: days.map((d) => m.get(d) ?? '0') });
    }
    if (rest.length > 0) {
      const dailyRest = days.map((d) => sumDecimals(rest.map((v) => byValue.get(v)!.get(d) ?? '0')));
      daily.series.push({ value: `${rest.length} more`, other: true, spend_usd: sumDecimals(dailyRest), daily_usd: dailyRest });
    }
    withoutKey = sumDecimals(untaggedDaily);
    daily.series.push({ value: null, spend_usd: withoutKey, daily_usd: untaggedDaily });

    // Movers: each value's spend in this period against the one before (untagged included).
    const prevTotal = spendBetween(previous.from, previous.to);
    const prevTagged = sumDecimals([...prevByValue.values()].flat());
    const candidates: Overview['movers'] = [];
    for (const v of new Set([...valueTotal.keys(), ...prevByValue.keys()])) {
      const now = valueTotal.get(v) ?? '0';
      const before = sumDecimals(prevByValue.get(v) ?? []);
      candidates.push({ value: v, spend_usd: now, previous_spend_usd: before, change_usd: subtractDecimals(now, before) });
    }
    const prevUntagged = subtractDecimals(prevTotal, prevTagged);
    candidates.push({ value: null, spend_usd: withoutKey, previous_spend_usd: prevUntagged, change_usd: subtractDecimals(withoutKey, prevUntagged) });
    candidates.sort((a, b) => Math.abs(decimalToNumber(b.change_usd)) - Math.abs(decimalToNumber(a.change_usd)));
    movers.push(...candidates.filter((c) => decimalToNumber(c.change_usd) !== 0).slice(0, MOVERS));
  } else {
    daily.series.push({ value: null, spend_usd: periodTotal, daily_usd: days.map((d) => totalByDay.get(d) ?? '0') });
  }

  return {
    today,
    timezone,
    month: {
      from: monthStart,
      to: today,
      spend_usd: monthSpend,
      last_month_same_days: { from: lastMonthStart, to: sameDayLastMonth, spend_usd: lastSame },
      last_month: { from: lastMonthStart, to: lastMonthEnd, spend_usd: lastFull },
      projected_usd: projected,
    },
    period,
    tag_key: tagKey,
    tag_keys: keys,
    daily,
    movers,
    untagged: {
      no_tags_usd: noTags,
      no_tags_share: sharePercent(noTags, periodTotal),
      without_key_usd: withoutKey,
      without_key_share: sharePercent(withoutKey, periodTotal),
      total_usd: periodTotal,
    },
  };
}
