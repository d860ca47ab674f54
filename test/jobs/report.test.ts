import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseDimension } from '../../src/report/dimensions.ts';
import { runIngest } from '../../jobs/steps/ingest.ts';
import { buildReport, renderReport, sharePercent, type Report } from '../../src/report/query.ts';
import { sentinelText } from '../../src/report/render/labels.ts';
import { applyTimezone, runRollup } from '../../jobs/steps/rollup.ts';
import type { SpendRecord } from '../../src/spend/record.ts';
import { makeRecords, putRecordObjects } from '../helpers/spend-fixtures.ts';
import { decimalUnits, groupBy, tagValues, usdUnits, utcDay } from './expected.ts';
import { createHarness, type Harness } from './harness.ts';

const START = Date.parse('2026-11-02T00:00:00Z');

describe('report', () => {
  let h: Harness;
  let records: SpendRecord[];
  const reports = new Map<string, Report>();

  before(async () => {
    h = await createHarness();
    records = makeRecords(2500, 21, START, 120_000); // 2026-11-02 .. 2026-11-05
    await putRecordObjects(h.store, records, 500);
    const ctx = await h.context();
    try {
      await applyTimezone(ctx);
      await runIngest(ctx, { full: true });
      await runRollup(ctx);
      for (const by of ['tag', 'tag:team', 'tag:app', 'meta:project', 'user', 'model', 'key']) {
        reports.set(by, await buildReport(ctx.db.conn, { from: '2026-11-01', to: '2026-11-30', by: parseDimension(by) }, 'UTC'));
      }
      reports.set('period', await buildReport(ctx.db.conn, { from: '2026-11-03', to: '2026-11-04', by: parseDimension('key') }, 'UTC'));
    } finally {
      ctx.db.close();
    }
  });
  after(async () => h?.cleanup());

  const totalUnits = (rs: readonly SpendRecord[]): bigint => rs.reduce((s, r) => s + usdUnits(r.cost_usd), 0n);
  // Rows without a value carry a null label; compare them under their sentinel word.
  const labelOf = (report: Report, r: Record<string, unknown>, label: string): string =>
    r[label] === null ? sentinelText(report.dimension) : String(r[label]);
  const spendByLabel = (report: Report, label: string): Map<string, bigint> =>
    new Map(report.table.rows.map((r) => [labelOf(report, r, label), decimalUnits(r.spend_usd)]));

  test('by tag key: one row per value plus (untagged), adding up exactly to total spend', () => {
    const report = reports.get('tag:team')!;
    assert.equal(report.table.columns[0], 'team');
    const rows = spendByLabel(report, 'team');
    const sum = [...rows.values()].reduce((a, b) => a + b, 0n);
    assert.equal(sum, totalUnits(records));
    assert.equal(decimalUnits(report.total.spend_usd), totalUnits(records));
    assert.equal(rows.get('(untagged)'), totalUnits(records.filter((r) => tagValues(r, 'team').length === 0)));
    const requests = report.table.rows.reduce((s, r) => s + decimalUnits(r.requests, 6), 0n);
    assert.equal(requests, BigInt(records.length) * 1_000_000n);
    // Values used only by single-valued requests are exact.
    const app = spendByLabel(reports.get('tag:app')!, 'app');
    for (const [value, units] of app) {
      if (value === '(untagged)') continue;
      assert.equal(units, totalUnits(records.filter((r) => r.tags.includes(`app:${value}`))));
    }
    const shares = report.table.rows.reduce((s, r) => s + Number(r.spend_share), 0);
    assert.ok(Math.abs(shares - 100) < 0.05 * report.table.rows.length);
    assert.match(report.notes.join(' '), /split evenly/);
  });

  test('by tag: each tag carries every request tagged with it, and the report says rows overlap', () => {
    const report = reports.get('tag')!;
    const expected = groupBy(records, (r) => (r.tags.length ? [...new Set(r.tags)] : ['(untagged)']));
    const rows = spendByLabel(report, 'tag');
    assert.deepEqual(new Set(rows.keys()), new Set(expected.keys()));
    for (const [tag, m] of expected) assert.equal(rows.get(tag), m.spend, tag);
    assert.match(report.notes[0]!, /counts under each of its tags/);
  });

  test('by metadata field, user, model and key: rows equal the records and add up to the total', () => {
    const cases: [string, string, (r: SpendRecord) => string][] = [
      ['meta:project', 'project', (r) => r.metadata.project ?? '(none)'],
      ['user', 'user', (r) => r.user ?? '(no user)'],
      ['model', 'model', (r) => r.model ?? '(unknown)'],
      ['key', 'key', (r) => r.key_alias ?? '(no key)'],
    ];
    for (const [by, label, of] of cases) {
      const report = reports.get(by)!;
      const expected = groupBy(records, (r) => [of(r)]);
      const rows = spendByLabel(report, label);
      assert.deepEqual(rows, new Map([...expected].map(([k, m]) => [k, m.spend] as const)), by);
      const requests = new Map(report.table.rows.map((r) => [labelOf(report, r, label), Number(r.requests)]));
      for (const [k, m] of expected) assert.equal(requests.get(k), m.requests, `${by} ${k}`);
    }
  });

  test('a period covers its days inclusive', () => {
    const report = reports.get('period')!;
    const inPeriod = records.filter((r) => ['2026-11-03', '2026-11-04'].includes(utcDay(r)));
    assert.equal(Number(report.total.requests), inPeriod.length);
    assert.equal(decimalUnits(report.total.spend_usd), totalUnits(inPeriod));
  });

  test('renders csv, json and markdown with the same rows', () => {
    const report = reports.get('tag:team')!;
    const csv = renderReport(report, 'csv').trimEnd().split('\r\n');
    assert.equal(csv[0], 'team,requests,errors,prompt_tokens,completion_tokens,total_tokens,spend_usd,spend_share,previous_spend_usd');
    assert.equal(csv.length, report.table.rows.length + 1);
    // CSV keeps the exact decimal, JSON too; the row without a team is null in JSON, (untagged) in CSV.
    const first = report.table.rows[0]!;
    assert.ok(csv[1]!.includes(`,${String(first.spend_usd)},`));
    assert.ok(csv.some((l) => l.startsWith('(untagged),')));
    const json = JSON.parse(renderReport(report, 'json'));
    assert.deepEqual(json.rows, report.table.rows);
    assert.equal(json.total.spend_usd, report.total.spend_usd);
    assert.ok(json.rows.some((r: Record<string, unknown>) => r.team === null));
    assert.deepEqual(json.previous, { from: '2026-10-02', to: '2026-10-31', total: report.previous.total });
    const md = renderReport(report, 'md');
    assert.match(md, /^# Spend by team, 2026-11-01 to 2026-11-30 \(UTC\)/);
    assert.match(md, /\| Team \| Requests \| Errors \| Prompt tokens \| Completion tokens \| Total tokens \| Spend \| Share \| Previous period \| Change \|/);
    assert.match(md, /\| _\(untagged\)_ \|/);
    assert.match(md, /^Total \$\d[\d,]*\.\d\d over 2,500 requests/m);
    assert.match(md, /- A request with several `team:` tags is split evenly/);
  });

  test('renders a self-contained html page for a finance reader: title naming the dimension, human labels, dollars and cents, a chart', () => {
    const report = reports.get('tag:team')!;
    const html = renderReport(report, 'html');
    assert.match(html, /^<!DOCTYPE html>/);
    assert.match(html, /<title>Spend by team, 2026-11-01 to 2026-11-30 \(UTC\)<\/title>/);
    assert.equal(html.match(/<tbody>[\s\S]*<\/tbody>/)![0].match(/<tr>/g)!.length, report.table.rows.length);
    for (const row of report.table.rows) {
      assert.ok(html.includes(row.team === null ? '<td><em class="none">(untagged)</em></td>' : `<td>${String(row.team)}</td>`), String(row.team));
    }
    assert.match(html, /<th>Team<\/th><th class="num">Requests<\/th>/);
    assert.doesNotMatch(html, /prompt_tokens|spend_usd|spend_share/, 'no raw column names');
    const cents = `$${Number(report.total.spend_usd).toFixed(2)}`;
    assert.ok(html.includes(`Total <strong>${cents}</strong>`), cents);
    assert.doesNotMatch(html.replace(/<svg[\s\S]*?<\/svg>/g, ''), /\d\.\d{3,}/, 'no money with more than cents outside the chart geometry');
    assert.match(html, /<svg [^>]*class="chart"/);
    assert.equal(html.match(/<rect class="mark"/g)!.length, report.table.rows.length);
    assert.match(html, /previous period \(2026-10-02 to 2026-10-31\)/);
    assert.match(html, /<li>A request with several <code>team:<\/code> tags is split evenly/);
    assert.doesNotMatch(html, /<script|src=|href=/, 'nothing runs or is fetched');
  });

  test('html escapes what clients sent: a hostile tag value is text, not markup', () => {
    const hostile = '<script>alert("x")</script>&\'';
    const report: Report = {
      ...reports.get('tag:team')!,
      table: { columns: ['team', 'spend_usd', 'spend_share'], rows: [{ team: hostile, spend_usd: '1.5', spend_share: '100.00' }] },
    };
    const html = renderReport(report, 'html');
    assert.ok(!html.includes('<script>'));
    assert.ok(html.includes('<td>&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;&#38;&#39;</td>'));
    assert.ok(html.includes('<text x="192" y="21" text-anchor="end" fill="#222">&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;&#38;&#39;</text>'), 'the chart label too');
    assert.match(html, /<td class="num share"><span class="bar" style="width:100.00%"><\/span>100.00%<\/td>/);
  });

  test('shares are exact percentages of the total', () => {
    assert.equal(sharePercent('1', '3'), '33.33');
    assert.equal(sharePercent('2', '3'), '66.67');
    assert.equal(sharePercent('0.0000000001', '1'), '0.00');
    assert.equal(sharePercent('5', '0'), '');
  });
});
