import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runJob } from '../../jobs/run/runner.ts';
import { TagRegistry } from '../../src/budget/tags.ts';
import { openReader } from '../../src/db/open.ts';
import { silentLogger } from '../../src/log.ts';
import { buildHygieneReport, keyValueProblem, renderHygiene, type HygieneFinding, type HygieneReport } from '../../src/report/hygiene.ts';
import type { SpendRecord } from '../../src/spend/record.ts';
import { makeRecords, putRecordObjects } from '../helpers/spend-fixtures.ts';
import { runCli } from '../helpers/run-cli.ts';
import { createHarness, type Harness } from '../jobs/harness.ts';

/** `n` requests on `day` at $0.01 each, with these tags and API key. */
function seeded(day: string, n: number, tags: string[], key: string | null, seed: number): SpendRecord[] {
  return makeRecords(n, seed, Date.parse(`${day}T08:00:00Z`), 60_000).map((r, i) => ({
    ...r,
    request_id: `${day}-${tags.join('|')}-${key}-${i}`,
    tags,
    key_alias: key,
    provider: 'openai',
    outcome: 'success',
    cost_usd: 0.01,
  }));
}

describe('tag hygiene report', () => {
  let h: Harness;
  let report: HygieneReport;
  const of = (check: string): HygieneFinding[] => report.findings.filter((f) => f.check === check);

  before(async () => {
    h = await createHarness();
    const records = [
      ...seeded('2026-10-20', 10, ['team:search', 'app:bot', 'tenant:acme'], 'support-bot', 1),
      ...seeded('2026-11-02', 40, ['team:search', 'app:bot', 'tenant:acme'], 'support-bot', 2),
      ...seeded('2026-11-02', 3, ['team:Search', 'app:bot'], 'support-bot', 3),
      ...seeded('2026-11-03', 2, ['team:serch', 'app:bot', 'tenant:acme'], 'support-bot', 4),
      ...seeded('2026-11-03', 5, ['team:team1', 'app:web'], 'web', 5),
      ...seeded('2026-11-03', 5, ['team:team2', 'app:web'], 'web', 6),
      ...seeded('2026-11-04', 4, ['experiment', 'app:web'], 'web', 7),
      ...seeded('2026-11-04', 6, ['env:', 'app:web'], 'web', 8),
      ...seeded('2026-11-05', 8, [], null, 9),
      ...seeded('2026-11-08', 7, ['team:newbie', 'app:bot', 'tenant:acme'], 'support-bot', 10),
    ];
    await putRecordObjects(h.store, records, 50);
    assert.equal((await runJob({ job: 'reconcile', trigger: 'cli', full: true }, { settings: h.settings, store: h.store, log: silentLogger })).status, 'success');
    const registry = new TagRegistry(h.store);
    for (const name of ['team:search', 'app:bot', 'app:web']) await registry.create({ name }, Date.now());
    const db = await openReader(h.settings.snapshotFile);
    try {
      report = await buildHygieneReport(db.conn, { from: '2026-11-01', to: '2026-11-10' }, {
        definitions: new Set((await registry.list()).map((d) => d.name)),
        requiredKeys: ['team'],
        requiredByAlias: new Map([['support-bot', ['tenant']]]),
        appTagKey: 'app',
      });
    } finally {
      db.close();
    }
  });
  after(async () => h?.cleanup());

  const rows = (check: string): [string, unknown, unknown][] => of(check).map((f) => [f.subject, f.requests, f.spend_usd]);

  test('tags not in key:value form, with their spend', () => {
    assert.deepEqual(rows('not_key_value'), [['env:', '6', '0.06'], ['experiment', '4', '0.04']]);
    assert.equal(keyValueProblem(':x'), 'empty key (starts with ":")');
    assert.equal(keyValueProblem('team:a:b'), null);
  });

  test('near-duplicates: case and a one-letter typo are found with both spends; team1/team2 are not', () => {
    const found = of('near_duplicate').map((f) => [f.subject, f.spend_usd, f.detail]);
    assert.deepEqual(found, [
      ['team:Search', '0.03', 'looks like team:search ($0.40); they differ by case, spaces, - or _'],
      ['team:serch', '0.02', 'looks like team:search ($0.40); they differ by one character'],
    ]);
  });

  test('untagged share per tag key over all traffic and per app', () => {
    const all = new Map(of('untagged_share').map((f) => [f.subject, [f.requests, f.spend_usd, f.share]]));
    // 80 requests in the period; team is missing on 4 + 6 + 8 of them.
    assert.deepEqual(all.get('team'), ['18', '0.18', '22.50']);
    assert.deepEqual(all.get('app:web / team'), ['10', '0.1', '50.00']);
    assert.deepEqual(all.get('app:bot / tenant'), ['3', '0.03', '5.77']);
    assert.equal(all.get('app:bot / team'), undefined, 'every bot request has a team');
    assert.ok(![...all.keys()].some((k) => k.endsWith('/ app')), 'the app key is not checked within an app');
  });

  test('tags without a definition, and tags first seen in the last 7 days', () => {
    assert.deepEqual(of('undefined_tag').map((f) => f.subject).sort(), ['env:', 'experiment', 'team:Search', 'team:newbie', 'team:serch', 'team:team1', 'team:team2', 'tenant:acme']);
    // The period ends 2026-11-10: new means first seen 2026-11-04 or later (team:search was seen in October).
    assert.deepEqual(of('new_tag').map((f) => [f.subject, f.detail]), [['team:newbie', 'first seen 2026-11-08'], ['env:', 'first seen 2026-11-04'], ['experiment', 'first seen 2026-11-04']]);
  });

  test('API keys whose traffic misses a required tag key: global keys and a key\'s own prefixes', () => {
    assert.deepEqual(of('missing_required_key').map((f) => [f.subject, f.detail, f.spend_usd, f.share]), [
      ['web', '10 of 20 requests carry no team: tag', '0.1', '50.00'],
      ['(no key)', '8 of 8 requests carry no team: tag', '0.08', '100.00'],
      ['support-bot', '3 of 52 requests carry no tenant: tag', '0.03', '5.77'],
    ]);
  });

  test('renders every section in markdown, one row per finding in CSV', () => {
    const md = renderHygiene(report, 'md');
    for (const title of ['Tags not in key:value form', 'Near-duplicate tags', 'Untagged share per tag key', 'Tags without a definition', 'Tags first seen in the last 7 days', 'API keys whose traffic misses a required tag key']) {
      assert.ok(md.includes(`## ${title}`), title);
    }
    const csv = renderHygiene(report, 'csv').trimEnd().split('\r\n');
    assert.equal(csv[0], 'check,subject,detail,requests,spend_usd,share');
    assert.equal(csv.length, report.findings.length + 1);
    assert.match(renderHygiene(report, 'html'), /<h2>Near-duplicate tags<\/h2>/);
  });

  test('tagspend report --by hygiene reads the definitions from the store and the config\'s required keys', async () => {
    const r = await runCli(['report', '--by', 'hygiene', '--from', '2026-11-01', '--to', '2026-11-10', '--format', 'json', '--data-dir', h.dir, '--store', h.store.url], {
      TAGSPEND_HYGIENE__REQUIRED_TAG_KEYS: '["tenant"]',
    });
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout) as { findings: HygieneFinding[] };
    assert.ok(json.findings.some((f) => f.check === 'undefined_tag' && f.subject === 'tenant:acme'));
    assert.ok(!json.findings.some((f) => f.check === 'undefined_tag' && f.subject === 'team:search'));
    assert.deepEqual(json.findings.filter((f) => f.check === 'missing_required_key').map((f) => f.subject), ['web', '(no key)', 'support-bot']);
  });
});
