// The dashboard in a real browser (Debian's chromium driven by playwright-core): sign in, open
// every page against a seeded snapshot, check the charts are drawn, nothing is logged to the
// console, and the figures shown are the API's. Takes the README's screenshot: set
// TAGSPEND_SCREENSHOT=docs/dashboard.png to write it there (else it goes to a temp dir).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { formatPercent, formatUsd } from '../../src/report/render/numbers.ts';
import { seed, VIEWER, type Seeded } from './seed.ts';

const CHROMIUM = process.env.TAGSPEND_CHROMIUM ?? '/usr/bin/chromium';

describe('dashboard in a browser', () => {
  let s: Seeded;
  let ctx: BrowserContext;
  let page: Page;
  let profile: string;
  const problems: string[] = [];

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does)`);
    s = await seed();
    profile = mkdtempSync(join(tmpdir(), 'tagspend-chromium-'));
    // The flags keep Chromium off the network (it would try Google's hosts at every start).
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await ctx.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  });
  after(async () => {
    await ctx?.close();
    await s?.cleanup();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  const text = async (selector: string): Promise<string> => (await page.locator(selector).first().innerText()).trim();

  test('signing in with the viewer key opens the overview', async () => {
    await page.goto(`${s.serve.url}/`);
    assert.equal(new URL(page.url()).pathname, '/login');
    await page.fill('input[name="key"]', VIEWER);
    await Promise.all([page.waitForURL(`${s.serve.url}/`), page.click('button[type="submit"]')]);
    assert.equal(await text('h1'), 'Where the money went');
  });

  test('overview: the daily chart is drawn and the figures are the API\'s', async () => {
    await page.goto(`${s.serve.url}/?key=team`);
    assert.equal(await page.locator('figure[data-chart="daily"] svg.chart').count(), 1);
    assert.ok((await page.locator('figure[data-chart="daily"] rect.mark').count()) > 20);
    const api = await s.json<any>('/api/overview?key=team');
    assert.equal(await text('[data-figure="month.spend_usd"]'), formatUsd(api.month.spend_usd, 'summary'));
    assert.equal(await text('[data-figure="month.last_month_same_days.spend_usd"]'), formatUsd(api.month.last_month_same_days.spend_usd, 'summary'));
    assert.equal(await text('[data-figure="month.projected_usd"]'), formatUsd(api.month.projected_usd, 'summary'));
    assert.equal(await text('[data-figure="untagged.without_key_share"]'), formatPercent(api.untagged.without_key_share));
    assert.match(await text('[data-freshness]'), /data up to 2026-11-25 \d\d:\d\d UTC · last reconcile/);
    assert.equal(await page.locator('table[data-table="movers"] tbody tr').count(), api.movers.length);
    const shot = process.env.TAGSPEND_SCREENSHOT ?? join(profile, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 20_000, 'a real picture');
  });

  test('breakdown: chart, table and total match /api/report; a row drills into its apps', async () => {
    await page.goto(`${s.serve.url}/breakdown?by=tag:team&from=2026-11-01&to=2026-11-25&then=tag:app`);
    const api = await s.json<any>('/api/report?by=tag:team&from=2026-11-01&to=2026-11-25');
    assert.equal(await page.locator('figure[data-chart="breakdown"] rect.mark').count(), api.rows.length);
    assert.equal(await page.locator('table[data-table="breakdown"] tbody tr').count(), api.rows.length);
    assert.equal(await text('td[data-total="spend_usd"]'), formatUsd(api.total.spend_usd));
    const firstNamed = api.rows.find((r: { team: string | null }) => r.team !== null);
    await Promise.all([page.waitForURL(/f=tag%3Ateam%3D/), page.click(`table[data-table="breakdown"] a:text-is("${firstNamed.team}")`)]);
    assert.match(await text('h1'), /Breakdown/);
    const drilled = await s.json<any>(`/api/report?by=tag:app&from=2026-11-01&to=2026-11-25&f=tag:team=${firstNamed.team}`);
    assert.equal(await text('td[data-total="spend_usd"]'), formatUsd(drilled.total.spend_usd));
    assert.equal(drilled.total.spend_usd, firstNamed.spend_usd);
    assert.equal(await page.locator('a[download]').count(), 1);
  });

  test("breakdown by a metadata field: a row's requests link lists exactly that value's requests", async () => {
    await page.goto(`${s.serve.url}/breakdown?by=meta:region&from=2026-11-20&to=2026-11-25`);
    const link = page.locator('table[data-table="breakdown"] a[data-requests]').first();
    const href = (await link.getAttribute('href'))!;
    const region = new URLSearchParams(href.split('?')[1]).get('meta')!;
    assert.match(region, /^region=(eu|us|ap)$/);
    await Promise.all([page.waitForURL(/\/requests\?/), link.click()]);
    const api = await s.json<any>(`/api/requests?meta=${encodeURIComponent(region)}&from=2026-11-20&to=2026-11-25`);
    assert.ok(api.requests.length > 0);
    assert.equal(await page.locator('table[data-table="requests"] tbody tr').count(), api.requests.length);
    assert.equal(await page.locator('input[name="meta"]').inputValue(), region);
  });

  test('budgets and requests pages show the API\'s figures', async () => {
    await page.goto(`${s.serve.url}/budgets`);
    const budgets = await s.json<any>('/api/budgets');
    const row = page.locator('table[data-table="budgets"] tbody tr').first();
    assert.match(await row.innerText(), new RegExp(`team:team1[\\s\\S]*${formatUsd(budgets.budgets[0].spend_usd).replace(/[$.]/g, '\\$&')}`));
    await page.goto(`${s.serve.url}/requests?tag=team:team2`);
    const requests = await s.json<any>('/api/requests?tag=team:team2');
    assert.equal(await page.locator('table[data-table="requests"] tbody tr').count(), requests.requests.length);
    const first = requests.requests[0];
    assert.equal(await text('table[data-table="requests"] tbody tr td[data-cost]'), first.cost_usd === null ? 'unpriced' : formatUsd(first.cost_usd));
  });

  test('hygiene: one table per check with the API\'s findings; the near-duplicate team is shown with its spend', async () => {
    await page.goto(`${s.serve.url}/hygiene?from=2026-11-01&to=2026-11-25`);
    assert.equal(await text('h1'), 'Tag hygiene');
    const api = await s.json<any>('/api/hygiene?from=2026-11-01&to=2026-11-25');
    for (const check of ['not_key_value', 'near_duplicate', 'untagged_share', 'undefined_tag', 'new_tag', 'missing_required_key']) {
      const expected = api.findings.filter((f: { check: string }) => f.check === check);
      assert.equal(await text(`section[data-check="${check}"] [data-count]`), `(${expected.length})`, check);
      assert.equal(await page.locator(`section[data-check="${check}"] tbody tr`).count(), expected.length, check);
    }
    const dup = api.findings.find((f: { check: string }) => f.check === 'near_duplicate');
    const row = page.locator('table[data-table="hygiene-near_duplicate"] tbody tr').first();
    assert.equal((await row.locator('td').first().innerText()).trim(), dup.subject);
    assert.equal((await row.locator('td[data-spend]').innerText()).trim(), formatUsd(dup.spend_usd));
    assert.equal(await page.locator('nav a[href="/hygiene"]').count(), 1);
  });

  test('no page logged an error or a warning to the console', () => {
    assert.deepEqual(problems, []);
  });
});
