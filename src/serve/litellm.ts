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

interface DayRow {
  day: string;
  grp: string | null;
  model: string | null;
  key_hash: string | null;
  key_alias: string | null;
  spend: number;
  exact_spend: string;
  total_tokens: number;
}

/** GET /global/spend/report: LiteLLM's three shapes (team, customer, api_key). */
export async function globalSpendReport(use: WithConnection, params: Params, teamKey: string): Promise<unknown[]> {
  const { from, to } = params.period('', { from: 'start_date', to: 'end_date' }, true);
  const groupBy = params.oneOf('group_by', ['team', 'customer', 'api_key'] as const, 'team')!;
  const apiKey = keyParam(params.text('api_key'));
  const user = params.text('internal_user_id') ?? null;
  if (params.text('team_id') !== undefined || params.text('customer_id') !== undefined) {
    throw new InvalidRequestError('team_id and customer_id are not supported: use group_by=team or group_by=customer', { param: params.text('team_id') !== undefined ? 'team_id' : 'customer_id' });
  }
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
    return [...byKey.values()].sort((a, b) => b.total_cost - a.total_cost);
  }
  // Team totals from the rollups, exact as in `tagspend report --by tag:<team_key>`, read beside the requests.
  const [byDay, teamDaily] = await Promise.all([
    use((conn) => selectRows(conn, sql('serve/litellm_report_by_day'), { from, to, group: groupBy, team_key: teamKey })),
    groupBy === 'team' ? use((conn) => selectRows(conn, sql('serve/team_daily'), { key: teamKey, from, to })) : [],
  ]);
  const rows = byDay.map(
    (r): DayRow => ({
      day: String(r.day),
      grp: (r.grp as string | null) ?? null,
      model: (r.model as string | null) ?? null,
      key_hash: (r.key_hash as string | null) ?? null,
      key_alias: (r.key_alias as string | null) ?? null,
      spend: num(r.spend),
      exact_spend: String(r.exact_spend),
      total_tokens: num(r.total_tokens),
    }),
  );
  const teamTotals = new Map<string, number>();
  for (const r of teamDaily) teamTotals.set(`${String(r.day)}\u0000${r.value ?? ''}`, num(r.spend_usd));
  const days = new Map<string, Map<string | null, { total: number; metadata: Json[] }>>();
  for (const r of rows) {
    if (!days.has(r.day)) days.set(r.day, new Map());
    const groups = days.get(r.day)!;
    let g = groups.get(r.grp);
    if (!g) groups.set(r.grp, (g = { total: 0, metadata: [] }));
    g.total += r.spend;
    g.metadata.push({ model: r.model, api_key: r.key_hash, key_alias: r.key_alias, spend: r.spend, total_tokens: r.total_tokens });
  }
  const listName = groupBy === 'team' ? 'teams' : 'customers';
  return [...days].map(([day, groups]) => ({
    group_by_day: day,
    [listName]: [...groups].map(([grp, g]) =>
      groupBy === 'team'
        ? { team_name: grp ?? UNASSIGNED_TEAM, total_spend: teamTotals.get(`${day}\u0000${grp ?? ''}`) ?? g.total, metadata: g.metadata }
        : { customer: grp, total_spend: g.total, metadata: g.metadata },
    ),
  }));
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
    use((conn) => selectRows(conn, sql('serve/litellm_tag_entities'), bind, types)),
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
    const breakdown: Record<string, Record<string, Json>> = { models: {}, model_groups: {}, mcp_servers: {}, providers: {}, endpoints: {}, api_keys: {}, entities: {} };
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
