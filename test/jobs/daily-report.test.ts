import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { defaultReportDay } from '../../jobs/steps/daily-report.ts';
import { runJob } from '../../jobs/run/runner.ts';
import { silentLogger } from '../../src/log.ts';
import { makeRecords, putRecordObjects } from '../helpers/spend-fixtures.ts';
import { createHarness, type Harness } from './harness.ts';

describe('daily report job', () => {
  let h: Harness;
  after(async () => h?.cleanup());

  test('writes one file per configured dimension and format for yesterday', async () => {
    h = await createHarness({ timezone: 'Europe/Berlin', jobs: { daily_report: { by: ['tag:team', 'model'], formats: ['md', 'csv', 'json', 'html'] } } });
    const records = makeRecords(500, 71, Date.parse('2026-11-09T00:00:00Z'), 60_000);
    await putRecordObjects(h.store, records, 250);
    const now = new Date('2026-11-10T01:30:00Z'); // 02:30 in Berlin: yesterday is 2026-11-09
    assert.equal(defaultReportDay(now, 'Europe/Berlin'), '2026-11-09');
    const deps = { settings: h.settings, store: h.store, log: silentLogger, now: () => now };
    await runJob({ job: 'reconcile', trigger: 'schedule', full: true }, deps);
    const run = await runJob({ job: 'report', trigger: 'schedule' }, deps);
    assert.equal(run.status, 'success');
    const dir = join(h.settings.reportDir, '2026-11-09');
    assert.deepEqual((await readdir(dir)).sort(), [
      'spend-by-model.csv', 'spend-by-model.html', 'spend-by-model.json', 'spend-by-model.md',
      'spend-by-tag-team.csv', 'spend-by-tag-team.html', 'spend-by-tag-team.json', 'spend-by-tag-team.md',
    ]);
    const json = JSON.parse(await readFile(join(dir, 'spend-by-tag-team.json'), 'utf8'));
    const berlinDay = records.filter((r) => new Date(r.ts).toLocaleDateString('en-CA', { timeZone: 'Europe/Berlin' }) === '2026-11-09');
    assert.equal(json.total.requests, String(berlinDay.length));
    assert.equal(json.timezone, 'Europe/Berlin');
    assert.match(await readFile(join(dir, 'spend-by-model.md'), 'utf8'), /^# Spend by model, 2026-11-09 \(Europe\/Berlin\)/);
    const html = await readFile(join(dir, 'spend-by-model.html'), 'utf8');
    assert.match(html, /<h1>Spend by model, 2026-11-09 \(Europe\/Berlin\)<\/h1>/);
    // The emailed page tells the story at a glance: a chart (static SVG, no script) and the change.
    assert.match(html, /<svg [^>]*class="chart"[\s\S]*<rect class="mark"/);
    assert.match(html, /<th class="num">Previous period<\/th><th class="num">Change<\/th>/);
    assert.doesNotMatch(html, /<script/);
  });
});
