// Tag definitions that no budget evaluation can use are refused at the API (400 naming the
// field), and one that reaches the store anyway (hand-edited, an older release) is skipped by
// the budgets job with an error line and a count, while every other tag is still evaluated
// and the block-list is still published.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { runBudgets } from '../../jobs/steps/budgets.ts';
import { runJob } from '../../jobs/run/runner.ts';
import { readStatus, promFileOf } from '../../jobs/run/status-file.ts';
import { BLOCKLIST_KEY, parseBlockList } from '../../src/budget/blocklist.ts';
import { TagRegistry } from '../../src/budget/tags.ts';
import { createLogger } from '../../src/log.ts';
import { readFileSync } from 'node:fs';
import { makeRecords, putRecordObjects } from '../helpers/spend-fixtures.ts';
import { proxyWithMock } from '../helpers/proxy.ts';
import { createHarness } from '../jobs/harness.ts';

describe('tag API bounds', () => {
  const env = proxyWithMock();

  async function call(path: string, body: unknown) {
    const res = await fetch(`${env.tp.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as { error?: { param: string; message: string } } };
  }

  for (const [field, value] of [
    ['max_budget', 1e19],
    ['max_budget', 1e13],
    ['soft_budget', 2e12],
    ['budget_duration', '97000mo'],
    ['budget_duration', '999999w'],
    ['budget_duration', '36526d'],
    ['budget_duration', '999999h'],
  ] as const) {
    test(`${field} ${value} is a 400 naming ${field}, at /tag/new and at /tag/update`, async () => {
      const name = `b:${field}:${value}`;
      const base = { max_budget: 10, budget_duration: '1mo' };
      const made = await call('/tag/new', { name, ...base, [field]: value });
      assert.equal(made.status, 400);
      assert.equal(made.json.error?.param, field);
      assert.equal((await call('/tag/new', { name, ...base })).status, 200);
      const updated = await call('/tag/update', { name, [field]: value });
      assert.equal(updated.status, 400);
      assert.equal(updated.json.error?.param, field);
    });
  }

  test('the bounds themselves are accepted: 1e12 USD and 100 years (1200mo, 36525d)', async () => {
    assert.equal((await call('/tag/new', { name: 'b:edge1', max_budget: 1e12, soft_budget: 1e12, budget_duration: '1200mo' })).status, 200);
    assert.equal((await call('/tag/new', { name: 'b:edge2', max_budget: 5, budget_duration: '36525d' })).status, 200);
  });
});

test('the budgets job skips an unusable definition with an error line and a count; the others are evaluated and the block-list is published', async () => {
  const h = await createHarness();
  const lines: { level: number; msg: string; tag?: string; object_key?: string }[] = [];
  const logger = createLogger(
    'info',
    new Writable({
      write(chunk: Buffer, _e, cb) {
        for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l));
        cb();
      },
    }),
  );
  try {
    const now = new Date('2026-11-20T12:00:00Z');
    await new TagRegistry(h.store).create({ name: 'app:ok', max_budget: 1, budget_duration: '1mo' }, now.getTime());
    // Written as an older release (or a hand edit) would have: the API refuses both now.
    const stored = (name: string, extra: object) =>
      JSON.stringify({ name, description: null, max_budget: 10, budget_duration: '1mo', soft_budget: null, alert_thresholds: null, created_at: now.toISOString(), updated_at: now.toISOString(), ...extra });
    await h.store.put('control/tags/app%3Ahuge.json', stored('app:huge', { max_budget: 1e19 }));
    await h.store.put('control/tags/app%3Along.json', stored('app:long', { budget_duration: '97000mo' }));
    await putRecordObjects(h.store, makeRecords(5, 7, Date.parse('2026-11-20T10:00:00Z'), 1000).map((r) => ({ ...r, outcome: 'success' as const, cost_usd: 1, tags: ['app:ok', 'app:huge', 'app:long'] })), 5);

    const summary = await runJob({ job: 'reconcile', trigger: 'cli' }, { settings: h.settings, store: h.store, log: logger, now: () => now });
    assert.equal(summary.status, 'success', summary.error ?? '');
    assert.equal(summary.invalidDefinitions, 2);
    const got = await h.store.get(BLOCKLIST_KEY);
    assert.ok(got && 'body' in got, 'block-list published');
    const list = parseBlockList(got.body.toString('utf8'));
    assert.deepEqual(Object.keys(list.tags), ['app:ok']);
    assert.equal(list.tags['app:ok']!.blocked, true);
    const skipped = lines.filter((l) => l.level >= 50 && /definition/.test(l.msg));
    assert.deepEqual(skipped.map((l) => l.object_key).sort(), ['control/tags/app%3Ahuge.json', 'control/tags/app%3Along.json']);
    const status = await readStatus(h.settings.statusFile);
    assert.equal(status.reconcile?.last_run.invalid_definitions, 2);
    assert.match(readFileSync(promFileOf(h.settings.statusFile), 'utf8'), /^tagspend_job_last_run_invalid_definitions\{job="reconcile"\} 2$/m);

    // runBudgets alone reports the skipped names.
    const ctx = await h.context(now);
    try {
      const r = await runBudgets(ctx, h.settings.alerts);
      assert.deepEqual(r.invalid.map((i) => i.objectKey).sort(), ['control/tags/app%3Ahuge.json', 'control/tags/app%3Along.json']);
    } finally {
      ctx.db.close();
    }
  } finally {
    await h.cleanup();
  }
});
