// LiteLLM's spend API in LiteLLM's request and response shapes, so scripts and dashboards built
// on a LiteLLM proxy keep working: GET /spend/tags, GET /global/spend/report and
// GET /tag/daily/activity. Money is a JSON number here as there (the tagspend-native /api/report
// keeps exact decimal strings). What differs from LiteLLM, and the fields tagspend cannot fill,
// is listed in docs/serve.md.
import { LIST, VARCHAR, listValue } from '@duckdb/node-api';
import { selectOne, selectRows, type Json } from '../db/rows.ts';
import { sql } from '../db/sql.ts';
import type { WithConnection } from '../db/with-connection.ts';
import { InvalidRequestError } from '../errors.ts';
import { keyHash } from '../proxy/auth.ts';
import { buildReport } from '../report/query.ts';
import { decimalToNumber, sumDecimals } from './decimal.ts';
import type { Params } from './params.ts';

/** LiteLLM's label for spend without a team. */
export const UNASSIGNED_TEAM = 'Unassigned Team';

const num = (v: Json | undefined): number => (v === null || v === undefined ? 0 : Number(v));

/** A key as LiteLLM scripts pass it: a raw `sk-...` key is hashed (as LiteLLM does); else a key hash or alias. */
function keyParam(value: string | undefined): string | null {
  if (value === undefined) return null;
  return value.startsWith('sk-') ? keyHash(value) : value;
}

/**
 * GET /spend/tags: `[{individual_request_tag, log_count, total_spend}]`. LiteLLM accepts
 * start_date/end_date and ignores them; here they select the days (default: all).
 */
export async function spendTags(use: WithConnection, params: Params, timezone: string): Promise<unknown[]> {
  const bounds = await use((conn) => selectOne(conn, sql('serve/data_bounds')));
  const first = (bounds?.first_day as string | null) ?? null;
  const last = (bounds?.last_day as string | null) ?? null;
  const start = params.date('start_date') ?? first;
  const end = params.date('end_date') ?? last;
  if (start === null || end === null) return [];
  if (end < start) throw new InvalidRequestError(`end_date (${end}) is before start_date (${start})`, { param: 'end_date' });
  const report = await buildReport(use, { from: start, to: end, by: { kind: 'tag' } }, timezone);
  return report.table.rows
    .filter((r) => r.tag !== null)
    .map((r) => ({ individual_request_tag: r.tag ?? null, log_count: num(r.requests), total_spend: num(r.spend_usd) }));
}

/** Groups per answer of /global/spend/report, as LiteLLM's /global/spend/tags bounds its list. */
export const GROUPS_DEFAULT = 100;
export const GROUPS_MAX = 1000;

/** A page of groups: the answer's body, and how many groups there are in all. */
export interface GroupPage {
  body: unknown[];
  total: number;
  offset: number;
  limit: number;
}

/** Orders groups by spend (largest first), then by name with the unnamed (null) first. */
function bySpendThenName<T>(spend: (g: T) => number, name: (g: T) => string | null): (a: T, b: T) => number {
  return (a, b) => {
    const d = spend(b) - spend(a);
    if (d !== 0) return d;
    const x = name(a);
    const y = name(b);
    return x === y ? 0 : x === null ? -1 : y === null ? 1 : x < y ? -1 : 1;
  };
}

/**
 * GET /global/spend/report: LiteLLM's three shapes (team, customer, api_key), each bounded to
 * `limit` groups (teams, customers or keys; default 100, at most 1000) ranked by spend over the
 * period, after skipping `offset` of them: with 50,000 customers the whole answer was 200 MB.
 */
export async function globalSpendReport(use: WithConnection, params: Params, teamKey: string): Promise<GroupPage> {
  const { from, to } = params.period('', { from: 'start_date', to: 'end_date' }, true);
  const groupBy = params.oneOf('group_by', ['team', 'customer', 'api_key'] as const, 'team')!;
  const apiKey = keyParam(params.text('api_key'));
  const user = params.text('internal_user_id') ?? null;
  const limit = params.int('limit', GROUPS_DEFAULT, 1, GROUPS_MAX);
  const offset = params.int('offset', 0, 0, 1_000_000_000);
  if (params.text('team_id') !== undefined || params.text('customer_id') !== undefined) {
    throw new InvalidRequestError('team_id and customer_id are not supported: use group_by=team or group_by=customer', { param: params.text('team_id') !== undefined ? 'team_id' : 'customer_id' });
  }
  const page = (body: unknown[], total: number): GroupPage => ({ body, total, offset, limit });
  if (groupBy === 'api_key' || apiKey !== null || user !== null) {
    const rows = await use((conn) => selectRows(conn, sql('serve/litellm_report_api_key'), { from, to, key: apiKey, user }));
    const byKey = new Map<string, { api_key: string | null; key_alias: string | null; total_cost: number; total_input_tokens: number; total_output_tokens: number; model_details: Json[] }>();
    for (const r of rows) {
      const id = JSON.stringify([r.key_hash, r.key_alias]);
      let k = byKey.get(id);
      if (!k) byKey.set(id, (k = { api_key: (r.key_hash as string | null) ?? null, key_alias: (r.key_alias as string | null) ?? null, total_cost: 0, total_input_tokens: 0, total_output_tokens: 0, model_details: [] }));
      k.total_cost += num(r.total_cost);
      k.total_input_tokens += num(r.total_input_tokens);
      k.total_output_tokens += num(r.total_output_tokens);
      k.model_details.push({ model: r.model ?? null, total_cost: num(r.total_cost), total_input_tokens: num(r.total_input_tokens), total_output_tokens: num(r.total_output_tokens) });
    }
    const keys = [...byKey.values()].sort(bySpendThenName((k) => k.total_cost, (k) => JSON.stringify([k.api_key, k.key_alias])));
    return page(keys.slice(offset, offset + limit), keys.length);
  }
  if (groupBy === 'customer') return page(...(await customerPage(use, from, to, offset, limit)));

  // Team totals from the rollups, exact as in `tagspend report --by tag:<team_key>`, read beside
  // the requests; they rank the teams too.
  const [byDay, teamDaily] = await Promise.all([
    use((conn) => selectRows(conn, sql('serve/litellm_team_by_day'), { from, to, team_key: teamKey })),
    use((conn) => selectRows(conn, sql('serve/team_daily'), { key: teamKey, from, to })),
  ]);
  const dayTotals = new Map<string, number>();
  const teamSpend = new Map<string | null, string[]>();
  for (const r of teamDaily) {
    const team = (r.value as string | null) ?? null;
    dayTotals.set(JSON.stringify([String(r.day), team]), num(r.spend_usd));
    if (!teamSpend.has(team)) teamSpend.set(team, []);
    teamSpend.get(team)!.push(String(r.spend_usd));
  }
  // The teams are those with requests in the period, ranked by their exact spend.
  const teams = new Set(byDay.map((r) => (r.grp as string | null) ?? null));
  const ranked = [...teams].map((team) => ({ team, spend: decimalToNumber(sumDecimals(teamSpend.get(team) ?? [])) })).sort(bySpendThenName((t) => t.spend, (t) => t.team));
  const onPage = new Map(ranked.slice(offset, offset + limit).map((t, i) => [t.team, i]));
  const days = new Map<string, Map<string | null, { total: number; metadata: Json[] }>>();
  for (const r of byDay) {
    const team = (r.grp as string | null) ?? null;
    if (!onPage.has(team)) continue;
    const day = String(r.day);
    if (!days.has(day)) days.set(day, new Map());
    const ofDay = days.get(day)!;
    let t = ofDay.get(team);
    if (!t) ofDay.set(team, (t = { total: 0, metadata: [] }));
    t.total += num(r.spend);
    t.metadata.push({ model: r.model ?? null, api_key: r.key_hash ?? null, key_alias: r.key_alias ?? null, spend: num(r.spend), total_tokens: num(r.total_tokens) });
  }
  const body = [...days].map(([day, ofDay]) => ({
    group_by_day: day,
    teams: [...ofDay]
      .sort((a, b) => onPage.get(a[0])! - onPage.get(b[0])!)
      .map(([team, t]) => ({ team_name: team ?? UNASSIGNED_TEAM, total_spend: dayTotals.get(JSON.stringify([day, team])) ?? t.total, metadata: t.metadata })),
  }));
  return page(body, ranked.length);
}

/**
 * group_by=customer: the page's customers ranked from rollup_daily_user, and only their requests
 * read from spend_logs (sql/serve/litellm_customer_page.sql); `total_spend` of a day is exact.
 */
async function customerPage(use: WithConnection, from: string, to: string, offset: number, limit: number): Promise<[unknown[], number]> {
  const [rows, count] = await Promise.all([
    use((conn) => selectRows(conn, sql('serve/litellm_customer_page'), { from, to, offset, limit })),
    use((conn) => selectOne(conn, sql('serve/litellm_customer_count'), { from, to })),
  ]);
  const days = new Map<string, Map<string | null, { total: number; metadata: Json[] }>>();
  for (const r of rows) {
    const day = String(r.day);
    if (!days.has(day)) days.set(day, new Map());
    const customers = days.get(day)!;
    const customer = (r.user as string | null) ?? null;
    let c = customers.get(customer);
    if (!c) customers.set(customer, (c = { total: num(r.day_spend), metadata: [] }));
    c.metadata.push({ model: r.model ?? null, api_key: r.key_hash ?? null, key_alias: r.key_alias ?? null, spend: num(r.spend), total_tokens: num(r.total_tokens) });
  }
  const body = [...days].map(([day, customers]) => ({
    group_by_day: day,
    customers: [...customers].map(([customer, c]) => ({ customer, total_spend: c.total, metadata: c.metadata })),
  }));
  return [body, num(count?.customers)];
}

interface Metrics {
  spend: number;
  prompt_tokens: number;
  completion_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
  total_tokens: number;
  successful_requests: number;
  failed_requests: number;
  api_requests: number;
}

function metricsOf(r: Record<string, Json>): Metrics {
  return {
    spend: num(r.spend),
    prompt_tokens: num(r.prompt_tokens),
    completion_tokens: num(r.completion_tokens),
    cache_read_input_tokens: num(r.cache_read_input_tokens),
    cache_creation_input_tokens: num(r.cache_creation_input_tokens),
    total_tokens: num(r.total_tokens),
    successful_requests: num(r.successful_requests),
    failed_requests: num(r.failed_requests),
    api_requests: num(r.api_requests),
  };
}

const entry = (m: Metrics, metadata: Record<string, Json> = {}): Json => ({ metrics: { ...m }, metadata, api_key_breakdown: {} }) as unknown as Json;

/** GET /tag/daily/activity: LiteLLM's SpendAnalyticsPaginatedResponse, paged by days. */
export async function tagDailyActivity(use: WithConnection, params: Params): Promise<unknown> {
  const { from, to } = params.period('', { from: 'start_date', to: 'end_date' }, true);
  const tags = (params.text('tags') ?? '').split(',').map((t) => t.trim()).filter(Boolean);
  const model = params.text('model') ?? null;
  const key = keyParam(params.text('api_key'));
  const page = params.int('page', 1, 1, 1_000_000);
  const pageSize = params.int('page_size', 10, 1, 1000);
  const bind = { from, to, tags: listValue(tags), model, key };
  const types = { tags: LIST(VARCHAR) };
  const [dayRows, entityRows] = await Promise.all([
    use((conn) => selectRows(conn, sql('serve/litellm_tag_requests'), bind, types)),
    // Without a model or key filter each tag's figures are rollup_daily_tag's.
    model === null && key === null
      ? use((conn) => selectRows(conn, sql('serve/litellm_tag_entities_rollup'), { from, to, tags: listValue(tags) }, types))
      : use((conn) => selectRows(conn, sql('serve/litellm_tag_entities'), bind, types)),
  ]);

  const allDays = [...new Set(dayRows.map((r) => String(r.day)))].sort();
  const totals: Metrics = { spend: 0, prompt_tokens: 0, completion_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0, total_tokens: 0, successful_requests: 0, failed_requests: 0, api_requests: 0 };
  for (const r of dayRows) {
    if (r.level !== 'day') continue;
    const m = metricsOf(r);
    for (const k of Object.keys(totals) as (keyof Metrics)[]) totals[k] += m[k];
  }
  const pageDays = new Set(allDays.slice((page - 1) * pageSize, page * pageSize));
  const results = [...pageDays].map((day) => {
    // Keyed by client-chosen names (a tag `__proto__`): objects without a prototype.
    const keyed = (): Record<string, Json> => Object.create(null) as Record<string, Json>;
    const breakdown: Record<string, Record<string, Json>> = { models: keyed(), model_groups: keyed(), mcp_servers: keyed(), providers: keyed(), endpoints: keyed(), api_keys: keyed(), entities: keyed() };
    let metrics: Metrics | null = null;
    for (const r of dayRows) {
      if (r.day !== day) continue;
      const m = metricsOf(r);
      if (r.level === 'day') metrics = m;
      else if (r.level === 'model' && r.model !== null) {
        breakdown.models![String(r.model)] = entry(m);
        breakdown.model_groups![String(r.model)] = entry(m);
      } else if (r.level === 'provider') breakdown.providers![String(r.provider ?? 'unknown')] = entry(m);
      else if (r.level === 'endpoint' && r.endpoint !== null) breakdown.endpoints![String(r.endpoint)] = entry(m);
      else if (r.level === 'key' && r.key_hash !== null) {
        breakdown.api_keys![String(r.key_hash)] = { metrics: { ...m }, metadata: { key_alias: r.key_alias ?? null, team_id: null } } as unknown as Json;
      }
    }
    for (const r of entityRows) if (r.day === day) breakdown.entities![String(r.tag)] = entry(metricsOf(r));
    return { date: day, metrics, breakdown };
  });
  const totalPages = Math.max(1, Math.ceil(allDays.length / pageSize));
  return {
    results,
    metadata: {
      total_spend: totals.spend,
      total_prompt_tokens: totals.prompt_tokens,
      total_completion_tokens: totals.completion_tokens,
      total_tokens: totals.total_tokens,
      total_api_requests: totals.api_requests,
      total_successful_requests: totals.successful_requests,
      total_failed_requests: totals.failed_requests,
      total_cache_read_input_tokens: totals.cache_read_input_tokens,
      total_cache_creation_input_tokens: totals.cache_creation_input_tokens,
      page,
      total_pages: totalPages,
      has_more: page < totalPages,
    },
  } as unknown as Json;
}
