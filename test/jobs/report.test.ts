import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseDimension } from '../../src/report/dimensions.ts';
import { runIngest } from '../../jobs/steps/ingest.ts';
import { buildReport, renderReport, sharePercent, type Report } from '../../src/report/query.ts';
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
  const spendByLabel = (report: Report, label: string): Map<string, bigint> =>
    new Map(report.table.rows.map((r) => [String(r[label]), decimalUnits(r.spend_usd)]));

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
      const requests = new Map(report.table.rows.map((r) => [String(r[label]), Number(r.requests)]));
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
    assert.equal(csv[0], 'team,requests,errors,prompt_tokens,completion_tokens,total_tokens,spend_usd,spend_share');
    assert.equal(csv.length, report.table.rows.length + 1);
    const json = JSON.parse(renderReport(report, 'json'));
    assert.deepEqual(json.rows, report.table.rows);
    assert.equal(json.total.spend_usd, report.total.spend_usd);
    const md = renderReport(report, 'md');
    assert.match(md, /^# Spend by tag-team, 2026-11-01 to 2026-11-30 \(UTC\)/);
    assert.match(md, /\| team \| requests \|/);
    assert.match(md, /- A request with several `team:` tags is split evenly/);
  });

  test('renders a self-contained html page with every row, the total and the notes', () => {
    const report = reports.get('tag:team')!;
    const html = renderReport(report, 'html');
    assert.match(html, /^<!DOCTYPE html>/);
    assert.match(html, /<title>Spend by tag-team, 2026-11-01 to 2026-11-30 \(UTC\)<\/title>/);
    assert.equal(html.match(/<tbody>[\s\S]*<\/tbody>/)![0].match(/<tr>/g)!.length, report.table.rows.length);
    for (const row of report.table.rows) assert.ok(html.includes(`<td>${String(row.team)}</td>`), String(row.team));
    assert.ok(html.includes(`${String(report.total.spend_usd)} USD`));
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
    assert.ok(html.includes('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;&#38;&#39;'));
    assert.match(html, /<td class="num share"><span class="bar" style="width:100.00%"><\/span>100.00%<\/td>/);
  });

  test('shares are exact percentages of the total', () => {
    assert.equal(sharePercent('1', '3'), '33.33');
    assert.equal(sharePercent('2', '3'), '66.67');
    assert.equal(sharePercent('0.0000000001', '1'), '0.00');
    assert.equal(sharePercent('5', '0'), '');
  });
});
