// Drill-down: a report of one dimension inside a row of another (a team -> its apps -> their
// users). The daily rollups have no cross dimensions, so this reads spend_logs, grouped by day
// and tag list exactly as the rollups group them, and applies the reports' split rule in exact
// integer units: a request with several values of a tag key gives each value an even share, the
// remainder units going to the values first in sort order. Drilling from one tag key into
// another therefore gives the same figures as the rollups; into users, models, keys or metadata
// the rows add up exactly to the drilled row's total. The grouping and the splits run in DuckDB
// (sql/serve/drill_rows.sql, the rollups' own split macro); only the rows come back.
import type { DuckDBConnection } from '@duckdb/node-api';
import { selectRows, type Json } from '../db/rows.ts';
import { sql } from '../db/sql.ts';
import { withConnection, type WithConnection } from '../db/with-connection.ts';
import { InvalidRequestError } from '../errors.ts';
import { addDays, daysBetween } from './calendar.ts';
import { dimensionLabel, type Dimension } from './dimensions.ts';
import { buildReport, sharePercent, type Report, type ReportRequest } from './query.ts';

/** One step of a drill-down: the rows whose `dimension` has this (real) value. */
export interface DrillFilter {
  dimension: Dimension;
  value: string;
}

/** Tags a drill-down can require at once (sql/serve/drill_groups.sql binds $tag1..$tag3). */
export const REQUIRED_TAGS = 3;
const REQUEST_UNITS = 1_000_000n; // requests are split in millionths, as in rollup_daily_tag_key
const SPEND_UNITS = 10_000_000_000n; // USD in 1e-10, the precision of cost_usd

interface Units {
  requests: bigint;
  errors: bigint;
  prompt_tokens: bigint;
  completion_tokens: bigint;
  total_tokens: bigint;
  spend: bigint;
}

const zero = (): Units => ({ requests: 0n, errors: 0n, prompt_tokens: 0n, completion_tokens: 0n, total_tokens: 0n, spend: 0n });

/** `123456n`, 6 -> `"0.123456"`, trailing zeros dropped. */
function decimalText(units: bigint, scale: bigint, places: number): string {
  const negative = units < 0n;
  const abs = negative ? -units : units;
  const frac = (abs % scale).toString().padStart(places, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${abs / scale}${frac ? `.${frac}` : ''}`;
}

function describe(f: DrillFilter): string {
  switch (f.dimension.kind) {
    case 'tag':
      return `tag ${f.value}`;
    case 'tag_key':
      return `${f.dimension.key} ${f.value}`;
    case 'meta':
      return `${f.dimension.key} ${f.value}`;
    case 'user':
      return `user ${f.value}`;
    case 'model':
      return `model ${f.value}`;
    case 'key':
      return `key ${f.value}`;
  }
}

interface FilterParams {
  require: string[];
  user: string | null;
  key: string | null;
  model: string | null;
  meta_key: string | null;
  meta_value: string | null;
}

/** The SQL filter parameters: tags every row must carry, and equality filters. */
function filterParams(filters: readonly DrillFilter[]): FilterParams {
  const p: FilterParams = { require: [], user: null, key: null, model: null, meta_key: null, meta_value: null };
  const once = (name: 'user' | 'key' | 'model' | 'meta_key', value: string): void => {
    if (p[name] !== null) throw new InvalidRequestError(`only one ${name === 'meta_key' ? 'metadata' : name} filter is possible`, { param: 'f' });
    p[name] = value;
  };
  for (const f of filters) {
    const d = f.dimension;
    if (d.kind === 'tag') p.require.push(f.value);
    else if (d.kind === 'tag_key') p.require.push(`${d.key}:${f.value}`);
    else if (d.kind === 'meta') {
      once('meta_key', d.key);
      p.meta_value = f.value;
    } else once(d.kind, f.value);
  }
  return p;
}

interface Drilled {
  rows: Map<string, { labels: (string | null)[]; units: Units }>;
  total: Units;
  unpriced: bigint;
}

/** Connections that have the drill_split macro (a TEMP macro lives as long as its connection). */
const withDrillSplit = new WeakSet<DuckDBConnection>();

async function ensureDrillSplit(conn: DuckDBConnection): Promise<void> {
  if (withDrillSplit.has(conn)) return;
  await conn.run(sql('serve/create_drill_split'));
  withDrillSplit.add(conn);
}

/** The drilled rows of one period, split and summed in DuckDB (sql/serve/drill_rows.sql). */
async function drillPeriod(use: WithConnection, from: string, to: string, by: Dimension, filters: readonly DrillFilter[]): Promise<Drilled> {
  const p = filterParams(filters);
  const child = by.kind === 'user' || by.kind === 'key' || by.kind === 'model' || by.kind === 'meta' ? by.kind : null;
  const required = [...new Set(p.require)];
  if (required.length > REQUIRED_TAGS) throw new InvalidRequestError(`at most ${REQUIRED_TAGS} tag filters`, { param: 'f' });
  // Tag-key filters split each group in turn, in the order given (each is also a required tag).
  const splits = filters.filter((f) => f.dimension.kind === 'tag_key') as (DrillFilter & { dimension: { kind: 'tag_key'; key: string } })[];
  const params = {
    from,
    to,
    tag1: required[0] ?? null,
    tag2: required[1] ?? null,
    tag3: required[2] ?? null,
    user: p.user,
    key: p.key,
    model: p.model,
    meta_key: p.meta_key,
    meta_value: p.meta_value,
    child,
    child_meta: by.kind === 'meta' ? by.key : null,
    s1_key: splits[0]?.dimension.key ?? null,
    s1_value: splits[0]?.value ?? null,
    s2_key: splits[1]?.dimension.key ?? null,
    s2_value: splits[1]?.value ?? null,
    s3_key: splits[2]?.dimension.key ?? null,
    s3_value: splits[2]?.value ?? null,
    by_key: by.kind === 'tag_key' ? by.key : null,
    by_tag: by.kind === 'tag',
  };
  const rows = await use(async (conn) => {
    await ensureDrillSplit(conn);
    return selectRows(conn, sql('serve/drill_rows'), params);
  });
  const out: Drilled = { rows: new Map(), total: zero(), unpriced: 0n };
  for (const r of rows) {
    const u: Units = {
      requests: BigInt(String(r.requests ?? 0)),
      errors: BigInt(String(r.errors ?? 0)),
      prompt_tokens: BigInt(String(r.prompt_tokens ?? 0)),
      completion_tokens: BigInt(String(r.completion_tokens ?? 0)),
      total_tokens: BigInt(String(r.total_tokens ?? 0)),
      spend: BigInt(String(r.spend ?? 0)),
    };
    if (r.kind === 'total') {
      out.total = u;
      // Unpriced requests are counted only where no split made them fractional.
      if (splits.length === 0) out.unpriced = BigInt(String(r.unpriced ?? 0));
      continue;
    }
    const labels = by.kind === 'model' ? [(r.label as string | null) ?? null, (r.label2 as string | null) ?? null] : [(r.label as string | null) ?? null];
    out.rows.set(JSON.stringify(labels), { labels, units: u });
  }
  return out;
}

function measures(u: Units): Record<string, Json> {
  return {
    requests: decimalText(u.requests, REQUEST_UNITS, 6),
    errors: decimalText(u.errors, REQUEST_UNITS, 6),
    prompt_tokens: u.prompt_tokens.toString(),
    completion_tokens: u.completion_tokens.toString(),
    total_tokens: u.total_tokens.toString(),
    spend_usd: decimalText(u.spend, SPEND_UNITS, 10),
  };
}

/**
 * The report of `req.by` inside the rows `filters` select; with no filters, the plain report
 * (from the rollups). Same shape as buildReport's, so every renderer and the CSV work on it.
 */
export async function buildDrillReport(db: DuckDBConnection | WithConnection, req: ReportRequest & { filters: readonly DrillFilter[] }, timezone: string): Promise<Report> {
  if (req.filters.length === 0) return buildReport(db, req, timezone);
  const use = withConnection(db);
  const length = daysBetween(req.from, req.to) + 1;
  const before = { from: addDays(req.from, -length), to: addDays(req.from, -1) };
  // The two periods read spend_logs side by side when `db` hands out several connections.
  const [now, prev] = await Promise.all([drillPeriod(use, req.from, req.to, req.by, req.filters), drillPeriod(use, before.from, before.to, req.by, req.filters)]);
  const labels = req.by.kind === 'model' ? ['model', 'provider'] : ['key' in req.by ? req.by.key : req.by.kind];
  const total = measures(now.total);
  const sorted = [...now.rows.values()]
    .sort((a, b) => (b.units.spend > a.units.spend ? 1 : b.units.spend < a.units.spend ? -1 : b.units.requests > a.units.requests ? 1 : b.units.requests < a.units.requests ? -1 : JSON.stringify(a.labels) < JSON.stringify(b.labels) ? -1 : 1));
  const rows = (req.page ? sorted.slice(req.page.offset, req.page.offset + req.page.limit) : sorted)
    .map((r) => {
      const row: Record<string, Json> = {};
      labels.forEach((l, i) => (row[l] = r.labels[i] ?? null));
      Object.assign(row, measures(r.units));
      row.spend_share = sharePercent(String(row.spend_usd), String(total.spend_usd));
      const p = prev.rows.get(JSON.stringify(r.labels));
      row.previous_spend_usd = p ? decimalText(p.units.spend, SPEND_UNITS, 10) : '0';
      return row;
    });
  const scope = req.filters.map(describe).join(', ');
  const notes = [
    `Only requests of ${scope}, each at its share of it (a request with several values of a tag key is split evenly between them), so the rows add up exactly to the total.`,
  ];
  if (req.by.kind === 'tag') notes.push('A request counts under each of its tags, so these rows add up to more than the total when requests carry several tags.');
  return {
    from: req.from,
    to: req.to,
    timezone,
    by: dimensionLabel(req.by),
    dimension: req.by,
    labels,
    table: { columns: [...labels, 'requests', 'errors', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'spend_usd', 'spend_share', 'previous_spend_usd'], rows },
    total: { ...total, unpriced: now.unpriced.toString() },
    previous: { ...before, total: measures(prev.total) },
    notes,
    scope,
    ...(req.page ? { page: { ...req.page, total_rows: sorted.length } } : {}),
  };
}
