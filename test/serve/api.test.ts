// `tagspend serve` against a snapshot the real jobs built from known records: every endpoint's
// figures equal `tagspend report`'s, LiteLLM's response shapes hold, bad parameters are 400s
// naming the parameter, only the master key or viewer keys read spend, and a snapshot replaced
// while requests are in flight causes no error and shows the new figures after.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseTagInput, TagRegistry } from '../../src/budget/tags.ts';
import { makeRecords } from '../helpers/spend-fixtures.ts';
import { decimalUnits } from '../jobs/expected.ts';
import { APP_KEY, MASTER, seed, VIEWER, type Seeded } from './seed.ts';

const BIN = fileURLToPath(new URL('../../bin/tagspend.js', import.meta.url));

/** What `tagspend report --format json` prints for this data directory. */
async function cliReport(dir: string, args: string[]): Promise<any> {
  const child = spawn(process.execPath, [BIN, 'report', '--data-dir', dir, '--format', 'json', ...args], { env: { ...process.env, TAGSPEND_LOG_LEVEL: 'silent' } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, err);
  return JSON.parse(out);
}

const close = (a: number, b: number): boolean => Math.abs(a - b) < 1e-9;

describe('tagspend serve API', () => {
  let s: Seeded;
  before(async () => {
    s = await seed();
  });
  after(async () => s?.cleanup());

  test('GET /api/report returns exactly what tagspend report --format json prints', async () => {
    for (const args of [['--by', 'tag:team', '--from', '2026-11-01', '--to', '2026-11-25'], ['--by', 'model', '--from', '2026-10-05', '--to', '2026-11-20']]) {
      const expected = await cliReport(s.dir, args);
      const q = new URLSearchParams({ by: args[1]!, from: args[3]!, to: args[5]! });
      assert.deepEqual(await s.json(`/api/report?${q}`), expected, args.join(' '));
    }
  });

  test('GET /spend/tags: LiteLLM shape, each tag with the report by tag figures', async () => {
    const tags = await s.json<{ individual_request_tag: string; log_count: number; total_spend: number }[]>('/spend/tags?start_date=2026-10-01&end_date=2026-11-30');
    const report = await cliReport(s.dir, ['--by', 'tag', '--from', '2026-10-01', '--to', '2026-11-30']);
    const tagged = report.rows.filter((r: { tag: string | null }) => r.tag !== null);
    assert.equal(tags.length, tagged.length);
    for (const t of tags) {
      assert.deepEqual(Object.keys(t).sort(), ['individual_request_tag', 'log_count', 'total_spend']);
      const row = tagged.find((r: { tag: string }) => r.tag === t.individual_request_tag);
      assert.equal(t.log_count, Number(row.requests));
      assert.equal(t.total_spend, Number(row.spend_usd));
    }
  });

  test('GET /global/spend/report: team, customer and api_key shapes with the report figures', async () => {
    const range = 'start_date=2026-11-01&end_date=2026-11-25';
    const team = await s.json<any[]>(`/global/spend/report?${range}&group_by=team`);
    const byTeam = await cliReport(s.dir, ['--by', 'tag:team', '--from', '2026-11-01', '--to', '2026-11-25']);
    const sums = new Map<string, number>();
    for (const day of team) {
      assert.match(day.group_by_day, /^2026-11-\d\d$/);
      for (const t of day.teams) {
        assert.deepEqual(Object.keys(t).sort(), ['metadata', 'team_name', 'total_spend']);
        for (const m of t.metadata) assert.deepEqual(Object.keys(m).sort(), ['api_key', 'key_alias', 'model', 'spend', 'total_tokens']);
        sums.set(t.team_name, (sums.get(t.team_name) ?? 0) + t.total_spend);
      }
    }
    for (const row of byTeam.rows) assert.ok(close(sums.get(row.team ?? 'Unassigned Team') ?? 0, Number(row.spend_usd)), String(row.team));

    const customers = await s.json<any[]>(`/global/spend/report?${range}&group_by=customer`);
    const byUser = await cliReport(s.dir, ['--by', 'user', '--from', '2026-11-01', '--to', '2026-11-25']);
    const userSums = new Map<string | null, number>();
    for (const day of customers) for (const c of day.customers) userSums.set(c.customer, (userSums.get(c.customer) ?? 0) + c.total_spend);
    for (const row of byUser.rows) assert.ok(close(userSums.get(row.user) ?? 0, Number(row.spend_usd)), String(row.user));

    const keys = await s.json<any[]>(`/global/spend/report?${range}&group_by=api_key`);
    const byKey = await cliReport(s.dir, ['--by', 'key', '--from', '2026-11-01', '--to', '2026-11-25']);
    for (const k of keys) assert.deepEqual(Object.keys(k).sort(), ['api_key', 'key_alias', 'model_details', 'total_cost', 'total_input_tokens', 'total_output_tokens']);
    for (const row of byKey.rows) {
      const total = keys.filter((k) => k.key_alias === row.key).reduce((a, k) => a + k.total_cost, 0);
      assert.ok(close(total, Number(row.spend_usd)), String(row.key));
    }
  });

  test('GET /tag/daily/activity: SpendAnalyticsPaginatedResponse, paged by day, tags as entities with the report figures', async () => {
    const first = await s.json<any>('/tag/daily/activity?start_date=2026-11-01&end_date=2026-11-25&page_size=10');
    assert.deepEqual(Object.keys(first).sort(), ['metadata', 'results']);
    assert.equal(first.results.length, 10);
    assert.deepEqual(first.metadata.page, 1);
    assert.equal(first.metadata.total_pages, 3);
    assert.equal(first.metadata.has_more, true);
    const metricKeys = ['api_requests', 'cache_creation_input_tokens', 'cache_read_input_tokens', 'completion_tokens', 'failed_requests', 'prompt_tokens', 'spend', 'successful_requests', 'total_tokens'];
    const day = first.results[0];
    assert.match(day.date, /^2026-11-01$/);
    assert.deepEqual(Object.keys(day.metrics).sort(), metricKeys);
    assert.deepEqual(Object.keys(day.breakdown).sort(), ['api_keys', 'endpoints', 'entities', 'mcp_servers', 'model_groups', 'models', 'providers']);
    const entity = Object.values(day.breakdown.entities)[0] as any;
    assert.deepEqual(Object.keys(entity).sort(), ['api_key_breakdown', 'metadata', 'metrics']);
    // Every page together: each tag's spend equals the report by tag.
    const perTag = new Map<string, number>();
    for (let page = 1; page <= 3; page++) {
      const p = await s.json<any>(`/tag/daily/activity?start_date=2026-11-01&end_date=2026-11-25&page_size=10&page=${page}`);
      for (const d of p.results) for (const [tag, e] of Object.entries<any>(d.breakdown.entities)) perTag.set(tag, (perTag.get(tag) ?? 0) + e.metrics.spend);
    }
    const byTag = await cliReport(s.dir, ['--by', 'tag', '--from', '2026-11-01', '--to', '2026-11-25']);
    for (const row of byTag.rows.filter((r: { tag: string | null }) => r.tag !== null)) assert.ok(close(perTag.get(row.tag)!, Number(row.spend_usd)), row.tag);
    const tagged = s.records.filter((r) => r.tags.length > 0 && r.ts >= '2026-11-01' && r.ts < '2026-11-26');
    assert.equal(first.metadata.total_api_requests, tagged.length);
    const filtered = await s.json<any>('/tag/daily/activity?start_date=2026-11-01&end_date=2026-11-25&tags=team:team1&page_size=100');
    assert.deepEqual(new Set(filtered.results.flatMap((d: any) => Object.keys(d.breakdown.entities))), new Set(['team:team1']));
  });

  test('GET /global/spend/report?group_by=customer pages customers by spend: x-total-count, a next link, each customer once with the report by user figures', async () => {
    const range = 'start_date=2026-11-01&end_date=2026-11-25';
    const byUser = await cliReport(s.dir, ['--by', 'user', '--from', '2026-11-01', '--to', '2026-11-25']);
    const reportSpend = new Map<string | null, number>(byUser.rows.map((r: { user: string | null; spend_usd: string }) => [r.user, Number(r.spend_usd)]));
    const pages: Map<string | null, number>[] = [];
    let next: string | null = `/global/spend/report?${range}&group_by=customer&limit=7`;
    while (next !== null) {
      const res = await s.get(next);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-total-count'), String(byUser.rows.length));
      const days = (await res.json()) as { group_by_day: string; customers: { customer: string | null; total_spend: number; metadata: { spend: number }[] }[] }[];
      const page = new Map<string | null, number>();
      for (const day of days) {
        for (const c of day.customers) {
          page.set(c.customer, (page.get(c.customer) ?? 0) + c.total_spend);
          // The day's total is the customer's exact spend that day; the per model and key entries add up to it.
          const expected = s.records.filter((r) => r.user === c.customer && r.ts.startsWith(day.group_by_day)).reduce((a, r) => a + (r.cost_usd ?? 0), 0);
          assert.ok(Math.abs(c.total_spend - expected) < 1e-9, `${c.customer} ${day.group_by_day}`);
          assert.ok(close(c.metadata.reduce((a, m) => a + m.spend, 0), c.total_spend));
        }
      }
      assert.ok(page.size <= 7);
      pages.push(page);
      const link = res.headers.get('link');
      next = link === null ? null : /^<([^>]+)>; rel="next"$/.exec(link)![1]!;
      if (next !== null) {
        const q = new URL(next, s.serve.url).searchParams;
        assert.deepEqual([q.get('offset'), q.get('limit'), q.get('group_by'), q.get('start_date')], [String(pages.length * 7), '7', 'customer', '2026-11-01']);
      }
    }
    assert.equal(pages.length, Math.ceil(byUser.rows.length / 7));
    const seen = pages.flatMap((p) => [...p.keys()]);
    assert.equal(new Set(seen).size, seen.length, 'no customer on two pages');
    assert.deepEqual(new Set(seen), new Set(reportSpend.keys()));
    for (const p of pages) for (const [customer, spend] of p) assert.ok(close(spend, reportSpend.get(customer)!), String(customer));
    // Largest spenders first: nobody on a later page spent more than anybody on the first.
    const firstLeast = Math.min(...[...pages[0]!.keys()].map((c) => reportSpend.get(c)!));
    for (const p of pages.slice(1)) for (const c of p.keys()) assert.ok(reportSpend.get(c)! <= firstLeast, String(c));
  });

  test('GET /global/spend/report?group_by=team&limit=2: the two teams with the most spend, x-total-count counting every team', async () => {
    const range = 'start_date=2026-11-01&end_date=2026-11-25';
    const byTeam = await cliReport(s.dir, ['--by', 'tag:team', '--from', '2026-11-01', '--to', '2026-11-25']);
    const res = await s.get(`/global/spend/report?${range}&group_by=team&limit=2`);
    assert.equal(res.headers.get('x-total-count'), String(byTeam.rows.length));
    const link = /^<(\/global\/spend\/report\?[^>]+)>; rel="next"$/.exec(res.headers.get('link')!)!;
    assert.equal(new URL(link[1]!, s.serve.url).searchParams.get('offset'), '2');
    const days = (await res.json()) as { teams: { team_name: string; total_spend: number }[] }[];
    const top = [...byTeam.rows].sort((a: { spend_usd: string }, b: { spend_usd: string }) => Number(b.spend_usd) - Number(a.spend_usd)).slice(0, 2);
    const names = new Set(days.flatMap((d) => d.teams.map((t) => t.team_name)));
    assert.deepEqual(names, new Set(top.map((r: { team: string | null }) => r.team ?? 'Unassigned Team')));
    for (const row of top) {
      const sum = days.flatMap((d) => d.teams).filter((t) => t.team_name === (row.team ?? 'Unassigned Team')).reduce((a, t) => a + t.total_spend, 0);
      assert.ok(close(sum, Number(row.spend_usd)), String(row.team));
    }
    const last = await s.get(`/global/spend/report?${range}&group_by=team&limit=2&offset=${byTeam.rows.length - 1}`);
    assert.equal(last.headers.get('link'), null, 'no next link on the last page');
    const keys = await s.get(`/global/spend/report?${range}&group_by=api_key&limit=1`);
    assert.equal(((await keys.json()) as unknown[]).length, 1);
    assert.ok(Number(keys.headers.get('x-total-count')) > 1);
  });

  test('GET /api/report?limit=&offset=: a page of exactly the rows tagspend report prints, with how many there are', async () => {
    const expected = await cliReport(s.dir, ['--by', 'user', '--from', '2026-11-01', '--to', '2026-11-25']);
    const paged = await s.json<any>('/api/report?by=user&from=2026-11-01&to=2026-11-25&limit=7&offset=7');
    assert.deepEqual(paged.rows, expected.rows.slice(7, 14));
    assert.deepEqual(paged.page, { offset: 7, limit: 7, total_rows: expected.rows.length });
    const { page: _page, rows: _rows, ...rest } = paged;
    const { rows: _all, ...expectedRest } = expected;
    assert.deepEqual(rest, expectedRest);
    const past = await s.json<any>('/api/report?by=user&from=2026-11-01&to=2026-11-25&limit=5&offset=1000');
    assert.deepEqual(past.rows, []);
    assert.equal(past.page.total_rows, expected.rows.length);
    const drilled = await s.json<any>('/api/report?by=user&from=2026-11-01&to=2026-11-25&f=tag:team=team1');
    const drilledPage = await s.json<any>('/api/report?by=user&from=2026-11-01&to=2026-11-25&f=tag:team=team1&limit=3&offset=2');
    assert.deepEqual(drilledPage.rows, drilled.rows.slice(2, 5));
    assert.equal(drilledPage.page.total_rows, drilled.rows.length);
    assert.deepEqual(drilledPage.total, drilled.total);
  });

  test('GET /tag/daily/activity: every metric of each tag equals the report by tag, and with a model filter the records of that model', async () => {
    const all = await s.json<any>('/tag/daily/activity?start_date=2026-11-01&end_date=2026-11-25&page_size=100');
    const byTag = await cliReport(s.dir, ['--by', 'tag', '--from', '2026-11-01', '--to', '2026-11-25']);
    const sums = new Map<string, Record<string, number>>();
    for (const d of all.results) {
      for (const [tag, e] of Object.entries<any>(d.breakdown.entities)) {
        const m = sums.get(tag) ?? {};
        for (const [k, v] of Object.entries<number>(e.metrics)) m[k] = (m[k] ?? 0) + v;
        sums.set(tag, m);
      }
    }
    for (const row of byTag.rows.filter((r: { tag: string | null }) => r.tag !== null)) {
      const m = sums.get(row.tag)!;
      assert.equal(m.api_requests, Number(row.requests), row.tag);
      assert.equal(m.failed_requests, Number(row.errors), row.tag);
      assert.equal(m.successful_requests, Number(row.requests) - Number(row.errors), row.tag);
      assert.equal(m.prompt_tokens, Number(row.prompt_tokens), row.tag);
      assert.equal(m.completion_tokens, Number(row.completion_tokens), row.tag);
      assert.equal(m.total_tokens, Number(row.total_tokens), row.tag);
      assert.ok(close(m.spend!, Number(row.spend_usd)), row.tag);
    }
    const model = 'openai/gpt-5';
    const one = await s.json<any>(`/tag/daily/activity?start_date=2026-11-01&end_date=2026-11-25&page_size=100&model=${encodeURIComponent(model)}`);
    const inRange = s.records.filter((r) => r.model === model && r.ts >= '2026-11-01' && r.ts < '2026-11-26');
    for (const d of one.results) {
      for (const [tag, e] of Object.entries<any>(d.breakdown.entities)) {
        const rs = inRange.filter((r) => r.ts.startsWith(d.date) && r.tags.includes(tag));
        assert.equal(e.metrics.api_requests, rs.length, `${d.date} ${tag}`);
        assert.equal(e.metrics.failed_requests, rs.filter((r) => r.outcome !== 'success').length, `${d.date} ${tag}`);
        assert.equal(e.metrics.prompt_tokens, rs.reduce((a, r) => a + r.prompt_tokens, 0), `${d.date} ${tag}`);
        assert.ok(close(e.metrics.spend, rs.reduce((a, r) => a + (r.cost_usd ?? 0), 0)), `${d.date} ${tag}`);
      }
      assert.deepEqual(Object.keys(d.breakdown.models), [model]);
    }
    assert.equal(one.metadata.total_api_requests, inRange.filter((r) => r.tags.length > 0).length);
  });

  test('drill-down: a team into its apps adds up exactly to the team row of the report', async () => {
    const team = await s.json<any>('/api/report?by=tag:team&from=2026-11-01&to=2026-11-25');
    const team1 = team.rows.find((r: { team: string }) => r.team === 'team1');
    const drilled = await s.json<any>('/api/report?by=tag:app&from=2026-11-01&to=2026-11-25&f=tag:team=team1');
    assert.equal(drilled.total.spend_usd, team1.spend_usd);
    assert.equal(drilled.rows.reduce((a: bigint, r: { spend_usd: string }) => a + decimalUnits(r.spend_usd), 0n), decimalUnits(team1.spend_usd));
    const users = await s.json<any>('/api/report?by=user&from=2026-11-01&to=2026-11-25&f=tag:team=team1&f=tag:app=app2');
    assert.equal(users.rows.reduce((a: bigint, r: { spend_usd: string }) => a + decimalUnits(r.spend_usd), 0n), decimalUnits(users.total.spend_usd));
    const csv = await (await s.get('/breakdown.csv?by=tag:app&from=2026-11-01&to=2026-11-25&f=tag:team=team1')).text();
    assert.equal(csv.split('\r\n')[0], 'app,requests,errors,prompt_tokens,completion_tokens,total_tokens,spend_usd,spend_share,previous_spend_usd');
    assert.equal(csv.trimEnd().split('\r\n').length, drilled.rows.length + 1);
  });

  test('drill-down inside a team that always shares its requests with another: the total is the team row of the report and the split rows add up to it', async () => {
    // team4 is only ever a second team tag (SMALL_SHAPE has team0-3), so every request is split.
    const team = await s.json<any>('/api/report?by=tag:team&from=2026-11-01&to=2026-11-25');
    const team4 = team.rows.find((r: { team: string }) => r.team === 'team4');
    assert.ok(team4 && team4.requests.includes('.'), 'team4 holds split requests');
    for (const by of ['tag:team', 'tag:app', 'tag', 'model', 'user']) {
      const drilled = await s.json<any>(`/api/report?by=${by}&from=2026-11-01&to=2026-11-25&f=tag:team=team4`);
      if (by.startsWith('tag:') || by === 'tag') assert.equal(drilled.total.spend_usd, team4.spend_usd, by);
      if (by !== 'tag') {
        assert.equal(drilled.rows.reduce((a: bigint, r: { spend_usd: string }) => a + decimalUnits(r.spend_usd), 0n), decimalUnits(drilled.total.spend_usd), by);
        assert.equal(drilled.rows.reduce((a: bigint, r: { requests: string }) => a + decimalUnits(r.requests), 0n), decimalUnits(drilled.total.requests), by);
      }
    }
  });

  test('GET /api/budgets: the budgeted tag with its window, spend, % used, projection and blocked state', async () => {
    const b = await s.json<any>('/api/budgets');
    assert.equal(b.budgets.length, 1);
    const row = b.budgets[0];
    assert.deepEqual(row.subject, { subject_kind: 'tag', subject: 'team:team1' });
    assert.equal(row.budget_source, 'own');
    assert.equal(row.window_start, '2026-11-01T00:00:00.000Z');
    assert.equal(row.reset_at, '2026-12-01T00:00:00.000Z');
    const expected = s.records.filter((r) => r.tags.includes('team:team1') && r.ts >= '2026-11-01').reduce((a, r) => a + (r.cost_usd ?? 0), 0);
    assert.ok(Math.abs(Number(row.spend_usd) - expected) < 1e-6);
    assert.equal(row.blocked, Number(row.spend_usd) >= 5);
    assert.ok(Number(row.projected_usd) > Number(row.spend_usd));
    assert.equal(row.used_percent, (Math.round((Number(row.spend_usd) / 5) * 10000) / 100).toFixed(2));
  });

  test('GET /api/requests: newest first, filtered, paged by cursor without gaps or repeats', async () => {
    const seen: string[] = [];
    let next: string | null = null;
    do {
      const page: any = await s.json(`/api/requests?tag=team:team2&from=2026-11-20&to=2026-11-25&limit=40${next ? `&before=${encodeURIComponent(next)}` : ''}`);
      for (const r of page.requests) {
        assert.ok(r.tags.includes('team:team2'));
        seen.push(r.request_id);
      }
      next = page.next;
    } while (next);
    const expected = s.records.filter((r) => r.tags.includes('team:team2') && r.ts >= '2026-11-20' && r.ts < '2026-11-26').sort((a, b) => (a.ts < b.ts ? 1 : -1));
    assert.deepEqual(seen, expected.map((r) => r.request_id));
  });

  test('GET /api/hygiene returns exactly what tagspend report --by hygiene --format json prints; a tag defined since is no longer undefined', async () => {
    const range = ['--from', '2026-11-01', '--to', '2026-11-25'];
    const expected = await cliReport(s.dir, ['--by', 'hygiene', ...range]);
    const hygiene = await s.json<any>('/api/hygiene?from=2026-11-01&to=2026-11-25');
    assert.deepEqual(hygiene, expected);
    const near = hygiene.findings.filter((f: { check: string }) => f.check === 'near_duplicate').map((f: { subject: string }) => f.subject);
    assert.deepEqual(near, ['team:Search']);
    const undefinedTags = (h: any): string[] => h.findings.filter((f: { check: string }) => f.check === 'undefined_tag').map((f: { subject: string }) => f.subject);
    assert.ok(undefinedTags(hygiene).includes('team:search'));
    // A definition written to the store changes the answer without a new snapshot.
    await new TagRegistry(s.store).create(parseTagInput({ name: 'team:search' }), Date.now());
    const after = await s.json<any>('/api/hygiene?from=2026-11-01&to=2026-11-25');
    assert.ok(!undefinedTags(after).includes('team:search'));
    assert.deepEqual(undefinedTags(after), undefinedTags(hygiene).filter((t) => t !== 'team:search'));
    assert.deepEqual(after, await cliReport(s.dir, ['--by', 'hygiene', ...range]));
  });

  test('GET /api/requests?meta=FIELD=VALUE: only the records with that metadata value, paged without gaps', async () => {
    const expected = s.records
      .filter((r) => r.metadata.region === 'eu' && r.ts >= '2026-11-18' && r.ts < '2026-11-26')
      .sort((a, b) => (a.ts === b.ts ? (a.request_id < b.request_id ? 1 : -1) : a.ts < b.ts ? 1 : -1))
      .map((r) => r.request_id);
    assert.ok(expected.length > 20, 'the fixture has such records');
    const seen: string[] = [];
    let next: string | null = null;
    do {
      const page: any = await s.json(`/api/requests?meta=region%3Deu&from=2026-11-18&to=2026-11-25&limit=20${next ? `&before=${encodeURIComponent(next)}` : ''}`);
      for (const r of page.requests) assert.equal(r.metadata.region, 'eu');
      seen.push(...page.requests.map((r: { request_id: string }) => r.request_id));
      next = page.next;
    } while (next);
    assert.deepEqual(seen, expected);
    const html = await (await s.get('/requests?meta=region%3Deu&from=2026-11-18&to=2026-11-25')).text();
    assert.match(html, /<input name="meta" placeholder="session_id=..." value="region=eu">/);
  });

  test('bad parameters are 400s naming the parameter', async () => {
    const cases: [string, string][] = [
      ['/api/report?by=colour', 'by'],
      ['/api/report?by=tag&from=2026-13-01', 'from'],
      ['/api/report?by=tag&from=2026-11-10&to=2026-11-01', 'to'],
      ['/api/report?by=tag&f=nonsense', 'f'],
      ['/global/spend/report?end_date=2026-11-02', 'start_date'],
      ['/global/spend/report?start_date=2026-11-01&end_date=2026-11-02&group_by=planet', 'group_by'],
      ['/tag/daily/activity?start_date=2026-11-01&end_date=2026-11-02&page=0', 'page'],
      ['/global/spend/report?start_date=2026-11-01&end_date=2026-11-02&group_by=customer&limit=1001', 'limit'],
      ['/global/spend/report?start_date=2026-11-01&end_date=2026-11-02&offset=-1', 'offset'],
      ['/api/report?by=user&offset=5', 'limit'],
      ['/api/report?by=user&limit=0', 'limit'],
      ['/api/requests?outcome=maybe', 'outcome'],
      ['/api/requests?before=garbage', 'before'],
      ['/api/hygiene?from=2026-11-31', 'from'],
      ['/api/requests?meta=region', 'meta'],
    ];
    for (const [path, param] of cases) {
      const res = await s.get(path);
      const body = (await res.json()) as { error: { param: string; type: string } };
      assert.equal(res.status, 400, path);
      assert.equal(body.error.param, param, path);
      assert.equal(body.error.type, 'invalid_request_error');
    }
  });

  test('auth: no key 401, a model key 403, a viewer key or the master key 200; a browser signs in once', async () => {
    assert.equal((await s.get('/api/report?by=tag', null)).status, 401);
    assert.equal((await s.get('/api/report?by=tag', 'sk-wrong-key-000000')).status, 401);
    assert.equal((await s.get('/api/report?by=tag', APP_KEY)).status, 403);
    assert.equal((await s.get('/api/report?by=tag', VIEWER)).status, 200);
    assert.equal((await s.get('/spend/tags', MASTER)).status, 200);
    assert.equal((await s.get('/', null)).status, 401, 'a page without a key, not from a browser');
    const page = await s.get('/breakdown?by=user', null, { accept: 'text/html' });
    assert.equal(page.status, 303, 'a browser goes to the sign-in page');
    assert.equal(page.headers.get('location'), '/login?next=%2Fbreakdown%3Fby%3Duser');
    assert.match(await (await s.get('/login?next=%2Fbreakdown', null)).text(), /<form method="post" action="\/login"[\s\S]*name="next" value="\/breakdown"/);
    const login = await fetch(`${s.serve.url}/login`, { method: 'POST', body: new URLSearchParams({ key: VIEWER, next: '//evil.example/' }), redirect: 'manual' });
    assert.equal(login.status, 303);
    assert.equal(login.headers.get('location'), '/', 'never sent to another site');
    const cookie = login.headers.get('set-cookie')!;
    assert.match(cookie, /HttpOnly; SameSite=Strict/);
    assert.ok(!cookie.includes(VIEWER), 'the key is never in the cookie');
    const signedIn = await s.get('/', null, { cookie: cookie.split(';')[0]! });
    assert.equal(signedIn.status, 200);
    assert.equal(signedIn.headers.get('content-security-policy')?.includes("default-src 'none'"), true);
    const refused = await fetch(`${s.serve.url}/login`, { method: 'POST', body: new URLSearchParams({ key: APP_KEY }), redirect: 'manual' });
    assert.equal(refused.status, 403);
    const crossSite = await fetch(`${s.serve.url}/login`, { method: 'POST', headers: { 'sec-fetch-site': 'cross-site' }, body: new URLSearchParams({ key: VIEWER }), redirect: 'manual' });
    assert.equal(crossSite.status, 403);
  });

  test('every connection serve reads with is sandboxed: no file access, configuration locked', async () => {
    const leases = await Promise.all([0, 1, 2].map(() => s.serve.source.lease())); // all three at once
    try {
      assert.equal(new Set(leases.map((l) => l.conn)).size, 3);
      for (const { conn } of leases) {
        await assert.rejects(conn.run("SELECT * FROM read_text('/etc/hostname')"), /disabled|external access/i);
        await assert.rejects(conn.run('SET enable_external_access = true'), /lock|disabled|cannot/i);
      }
    } finally {
      for (const l of leases) l.release();
    }
  });

  test('the snapshot is replaced while requests are in flight: no error, and the new figures after', async () => {
    const before = await s.json<any>('/api/report?by=key&from=2026-11-01&to=2026-11-25');
    const more = makeRecords(400, 77, Date.parse('2026-11-24T00:00:00Z'), 60_000).map((r) => ({ ...r, request_id: `extra-${r.request_id}` }));
    let stop = false;
    const statuses: number[] = [];
    const load = (async () => {
      while (!stop) {
        const batch = await Promise.all(Array.from({ length: 6 }, () => s.get('/api/report?by=key&from=2026-11-01&to=2026-11-25').then(async (r) => (await r.arrayBuffer(), r.status))));
        statuses.push(...batch);
      }
    })();
    try {
      await s.addAndReconcile(more);
    } finally {
      stop = true;
      await load;
    }
    assert.ok(statuses.length > 0);
    assert.deepEqual([...new Set(statuses)], [200]);
    const afterSwap = await s.json<any>('/api/report?by=key&from=2026-11-01&to=2026-11-25');
    assert.equal(Number(afterSwap.total.requests), Number(before.total.requests) + 400);
  });

  test('GET /api/requests pages through records with the same time by request id, none lost or repeated', async () => {
    // 45 records stamped with one and the same millisecond: every page boundary falls inside the tie.
    const ts = '2026-11-25T11:00:00.000Z';
    const ties = makeRecords(45, 91, Date.parse(ts), 0).map((r, i) => ({ ...r, ts, request_id: `tie-${String(i).padStart(3, '0')}`, tags: ['team:ties'] }));
    await s.addAndReconcile(ties);
    const seen: string[] = [];
    let next: string | null = null;
    let pages = 0;
    do {
      const page: any = await s.json(`/api/requests?tag=team:ties&from=2026-11-25&to=2026-11-25&limit=7${next ? `&before=${encodeURIComponent(next)}` : ''}`);
      seen.push(...page.requests.map((r: { request_id: string; ts: string }) => (assert.equal(r.ts, '2026-11-25T11:00:00.000000Z'), r.request_id)));
      next = page.next;
      pages += 1;
    } while (next);
    assert.equal(pages, 7);
    assert.deepEqual(seen, ties.map((r) => r.request_id).sort().reverse());
  });

  test('GET /tag/daily/activity lists a tag named __proto__ as an entity like any other', async () => {
    const odd = makeRecords(3, 17, Date.parse('2026-11-25T09:00:00Z'), 1000).map((r, i) => ({ ...r, request_id: `proto-${i}`, tags: ['__proto__', 'constructor'] }));
    await s.addAndReconcile(odd);
    const day = await s.json<any>('/tag/daily/activity?start_date=2026-11-25&end_date=2026-11-25');
    const entities = day.results[0].breakdown.entities;
    assert.ok(Object.hasOwn(entities, '__proto__'));
    assert.equal(entities.__proto__.metrics.api_requests, 3);
    assert.equal(entities.constructor.metrics.api_requests, 3);
  });
});
