import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeRecords, putRecordObjects } from '../helpers/spend-fixtures.ts';
import { anthropicPage, openaiPage, pretty } from '../helpers/bills.ts';
import { startBillingApi, type BillingApi } from '../helpers/billing-api.ts';
import { runCli } from '../helpers/run-cli.ts';
import { createHarness, type Harness } from '../jobs/harness.ts';

describe('trueup commands', () => {
  let h: Harness;
  let common: string[];
  const apis: BillingApi[] = [];
  const billed = async (): Promise<{ n: number; sum: string }> => {
    if (!existsSync(h.settings.dbFile)) return { n: 0, sum: '0' };
    const r = (await h.rows('SELECT count(*) AS n, coalesce(sum(amount_usd), 0)::VARCHAR AS sum FROM billed_costs'))[0]!;
    return { n: Number(r.n), sum: String(r.sum) };
  };

  before(async () => {
    h = await createHarness();
    common = ['--data-dir', h.dir, '--store', h.store.url];
    await putRecordObjects(h.store, makeRecords(600, 5, Date.parse('2026-11-02T00:00:00Z'), 240_000), 300); // 11-02 .. 11-03
  });
  after(async () => {
    for (const api of apis) await api.close();
    await h?.cleanup();
  });

  test('a bad bill is rejected with each file, line and reason, and nothing is imported', async () => {
    const good = join(h.dir, 'good.json');
    await writeFile(good, pretty(openaiPage([{ day: '2026-11-02', results: [{ usd: 1.5, line_item: 'gpt-5-2025-08-07, input' }] }])));
    const bad = join(h.dir, 'bad.json');
    const page = openaiPage([{ day: '2026-11-03', results: [{ usd: 2, line_item: 'a' }, { usd: 'two dollars', line_item: 'b' }, { usd: 3, currency: 'eur' }] }]);
    const text = pretty(page);
    await writeFile(bad, text);
    const r = await runCli(['trueup', 'import', '--provider', 'openai', good, bad, ...common]);
    assert.equal(r.code, 1, r.stderr);
    const lineOf = (needle: string, nth = 0): number => text.split('\n').findIndex((l, i, all) => l.includes(needle) && all.slice(0, i).join('\n').split(needle).length - 1 === nth) + 1;
    assert.match(r.stderr, /nothing was imported \(2 problems\)/);
    assert.ok(r.stderr.includes(`bad.json:${lineOf('"value": "two dollars"')}: data[0].results[1].amount.value: must be a number of dollars`), r.stderr);
    assert.ok(r.stderr.includes(`bad.json:${lineOf('"currency": "eur"')}: data[0].results[2].amount.currency: only USD`), r.stderr);
    assert.deepEqual(await billed(), { n: 0, sum: '0' });

    const csv = join(h.dir, 'invoice.csv');
    await writeFile(csv, 'date,provider,amount_usd\n2026-11-02,mistral,1.00\n2026-11-31,mistral,2.00\n"2026-11-02",mistral,"1,5"\n');
    const c = await runCli(['trueup', 'import', '--provider', 'csv', csv, ...common]);
    assert.equal(c.code, 1);
    assert.match(c.stderr, /invoice\.csv:3: date must be YYYY-MM-DD, got "2026-11-31"/);
    assert.match(c.stderr, /invoice\.csv:4: amount_usd must be a decimal number of dollars \(e\.g\. 12\.40 or -3\.5\), got "1,5"/);
    assert.deepEqual(await billed(), { n: 0, sum: '0' });
  });

  test('import stores and allocates the bill; trueup report compares per day and exits 1 past alert_pct', async () => {
    const reconcile = await runCli(['jobs', 'run', 'reconcile', '--full', ...common]);
    assert.equal(reconcile.code, 0, reconcile.stderr);
    const est = await h.rows(`SELECT ts::DATE::VARCHAR AS d, sum(cost_usd)::DOUBLE AS e FROM spend_logs WHERE provider = 'anthropic' GROUP BY 1 ORDER BY 1`);
    assert.equal(est.length, 2);
    // 11-02 billed 1% over the estimate, 11-03 billed 20% over it.
    const cents = (usd: number): string => (usd * 100).toFixed(6);
    const file = join(h.dir, 'anthropic.json');
    await writeFile(file, pretty(anthropicPage([
      { day: '2026-11-02', results: [{ cents: cents(Number(est[0]!.e) * 1.01) }] },
      { day: '2026-11-03', results: [{ cents: cents(Number(est[1]!.e) * 1.2) }] },
    ])));
    const imp = await runCli(['trueup', 'import', '--provider', 'anthropic', file, ...common]);
    assert.equal(imp.code, 0, imp.stderr);
    assert.match(imp.stdout, /read 2 bill line\(s\) for 2 provider-day\(s\)/);
    assert.match(imp.stdout, /trueup #\d+ success .*billed=\d+/);
    assert.equal((await billed()).n, 2);

    const rep = await runCli(['trueup', 'report', '--from', '2026-11-01', '--to', '2026-11-30', '--format', 'json', ...common]);
    assert.equal(rep.code, 1, 'one day is over the default 5%');
    const rows = JSON.parse(rep.stdout) as Record<string, string>[];
    assert.deepEqual(rows.map((r) => [r.day, r.provider, r.difference_pct, r.alert]), [
      ['2026-11-02', 'anthropic', '1.00', ''],
      ['2026-11-03', 'anthropic', '20.00', 'ALERT'],
    ]);
    for (const r of rows) assert.equal(r.unattributed_usd, r.difference_usd, 'a bill above the estimate leaves exactly the difference unattributed');
    assert.match(rep.stderr, /true-up alert: 2026-11-03 anthropic: billed [\d.]+ USD, estimated [\d.]+ USD \(\+20\.00% of the estimate; trueup\.alert_pct is 5\)/);
    const relaxed = await runCli(['trueup', 'report', '--from', '2026-11-01', '--to', '2026-11-30', ...common], { TAGSPEND_TRUEUP__ALERT_PCT: '25' });
    assert.equal(relaxed.code, 0, relaxed.stderr);
    assert.match(relaxed.stdout, /2026-11-03\s+anthropic/);
  });

  test('fetch follows the pages of the OpenAI Costs API with the admin key, saves them and imports them', async () => {
    const pages = [
      openaiPage([{ day: '2026-11-10', results: [{ usd: 1.25, line_item: 'gpt-5-2025-08-07, input' }, { usd: 0.75, line_item: 'gpt-5-2025-08-07, output' }] }]),
      openaiPage([{ day: '2026-11-11', results: [{ usd: 2, line_item: 'gpt-5-mini-2025-08-07, input' }] }]),
      openaiPage([{ day: '2026-11-12', results: [] }]),
    ];
    const api = await startBillingApi({ provider: 'openai', adminKey: 'sk-admin-test', pages });
    apis.push(api);
    const saved = join(h.dir, 'openai-pages.json');
    const env = { OPENAI_ADMIN_KEY: 'sk-admin-test', TAGSPEND_TRUEUP__OPENAI__BASE_URL: api.baseUrl };
    const r = await runCli(['trueup', 'fetch', '--provider', 'openai', '--from', '2026-11-10', '--to', '2026-11-12', '--save', saved, ...common], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(api.requests.length, 3);
    const q = api.requests[0]!.query;
    assert.deepEqual([q.get('start_time'), q.get('end_time'), q.get('bucket_width'), q.get('group_by'), q.get('page')], [
      String(Date.parse('2026-11-10T00:00:00Z') / 1000), String(Date.parse('2026-11-13T00:00:00Z') / 1000), '1d', 'line_item', null,
    ]);
    assert.ok(api.requests[1]!.query.get('page')?.startsWith('page_'), 'the second request carries the first next_page');
    assert.match(r.stdout, /read 3 bill line\(s\) for 2 provider-day\(s\)/);
    const rows = await h.rows(`SELECT "day"::VARCHAR AS d, sum(amount_usd)::VARCHAR AS s FROM billed_costs WHERE provider = 'openai' GROUP BY 1 ORDER BY 1`);
    assert.deepEqual(rows.map((x) => [x.d, x.s]), [['2026-11-10', '2.0000000000'], ['2026-11-11', '2.0000000000']]);
    const again = await runCli(['trueup', 'import', '--provider', 'openai', saved, ...common]);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stdout, /billed=/, 'the saved pages are the same bill: nothing changes');
    assert.equal(JSON.parse(await readFile(saved, 'utf8')).length, 3);
  });

  test('fetch imports nothing when a page fails, and says what the provider answered', async () => {
    const pages = [
      anthropicPage([{ day: '2026-11-14', results: [{ cents: '150', model: 'claude-sonnet-4-5-20250929', description: 'Claude Sonnet 4.5 Usage - Input Tokens', token_type: 'uncached_input_tokens' }] }]),
      anthropicPage([{ day: '2026-11-15', results: [{ cents: '250' }] }]),
    ];
    const api = await startBillingApi({ provider: 'anthropic', adminKey: 'sk-ant-admin01-test', pages });
    apis.push(api);
    api.failPage(1, 500, { type: 'error', error: { type: 'api_error', message: 'Internal server error' } }, { 'retry-after': '0' });
    const env = { ANTHROPIC_ADMIN_KEY: 'sk-ant-admin01-test', TAGSPEND_TRUEUP__ANTHROPIC__BASE_URL: api.baseUrl };
    const before = await billed();
    const r = await runCli(['trueup', 'fetch', '--provider', 'anthropic', '--from', '2026-11-14', '--to', '2026-11-15', ...common], env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /anthropic cost page 2: HTTP 500: Internal server error/);
    assert.equal(api.requests.length, 4, 'page 1 once, page 2 three times (retried)');
    assert.deepEqual(api.requests[0]!.query.getAll('group_by[]'), ['description']);
    assert.equal(api.requests[0]!.query.get('starting_at'), '2026-11-14T00:00:00Z');
    assert.deepEqual(await billed(), before);

    const denied = await runCli(['trueup', 'fetch', '--provider', 'anthropic', '--from', '2026-11-14', '--to', '2026-11-15', ...common], { ...env, ANTHROPIC_ADMIN_KEY: 'sk-ant-api-not-admin' });
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /HTTP 401 \(is the key an admin key of the organization\?\): invalid x-api-key/);
    const missing = await runCli(['trueup', 'fetch', '--provider', 'anthropic', ...common], { ANTHROPIC_ADMIN_KEY: '' });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /set ANTHROPIC_ADMIN_KEY to an admin key/);
  });
});
