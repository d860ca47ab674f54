import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { runBudgets } from '../../jobs/steps/budgets.ts';
import { runIngest } from '../../jobs/steps/ingest.ts';
import { BLOCKLIST_KEY, parseBlockList } from '../../src/budget/blocklist.ts';
import { TagRegistry } from '../../src/budget/tags.ts';
import { budgetWindow } from '../../src/budget/window.ts';
import type { SpendRecord } from '../../src/spend/record.ts';
import { makeRecords, putRecordObjects, seededRandom } from '../helpers/spend-fixtures.ts';
import { createHarness, type Harness } from '../jobs/harness.ts';

// Many budgeted tags with different windows, summed by the job in one pass, against sums
// computed here record by record in integer micro-dollars.
const NOW = Date.parse('2026-11-20T12:00:00Z');
const DURATIONS = ['1d', '7d', '1mo', '12h', '30m'];
const TAGS = Array.from({ length: 120 }, (_, i) => `tenant:t${String(i).padStart(3, '0')}`);
let h: Harness;
let records: SpendRecord[];

before(async () => {
  h = await createHarness();
  const rand = seededRandom(7);
  const start = Date.parse('2026-10-25T00:00:00Z');
  records = makeRecords(3000, 99, start, Math.floor((NOW - start) / 3000)).map((r, i) => {
    const own = [TAGS[Math.floor(rand() * TAGS.length)]!, TAGS[Math.floor(rand() * TAGS.length)]!];
    // Every 50th record repeats a tag: it must count once for that tag.
    const tags = i % 50 === 0 ? [own[0], 'env:prod', own[0]] : [...own, 'env:prod'];
    return { ...r, tags, cost_usd: (1 + Math.floor(rand() * 5000)) / 1e6, price_ref: 'builtin:2026-11' } as SpendRecord;
  });
  await putRecordObjects(h.store, records, 500);
  const registry = new TagRegistry(h.store);
  for (const [i, name] of TAGS.entries()) {
    await registry.create({ name, max_budget: 0.02, budget_duration: DURATIONS[i % DURATIONS.length]! }, NOW);
  }
});

after(async () => {
  await h?.cleanup();
});

test('a hundred budgeted tags are each summed in their own window, a repeated tag counted once', async () => {
  const ctx = await h.context(new Date(NOW));
  let result;
  try {
    await runIngest(ctx, { full: true });
    result = await runBudgets(ctx, h.settings.alerts);
  } finally {
    ctx.db.close();
  }
  const expected = new Map<string, number>();
  for (const [i, name] of TAGS.entries()) {
    const w = budgetWindow(DURATIONS[i % DURATIONS.length]!, NOW, 'UTC');
    let micros = 0;
    for (const r of records) {
      const ts = Date.parse(r.ts);
      if (ts >= w.start && ts < w.resetAt && r.tags.includes(name)) micros += Math.round(r.cost_usd! * 1e6);
    }
    expected.set(name, micros);
  }
  const got = await h.store.get(BLOCKLIST_KEY);
  assert.ok(got && 'body' in got);
  const list = parseBlockList(got.body.toString('utf8'));
  assert.equal(Object.keys(list.tags).length, TAGS.length);
  for (const name of TAGS) {
    const entry = list.tags[name]!;
    assert.equal(Math.round(entry.spend * 1e6), expected.get(name), name);
    assert.equal(entry.blocked, expected.get(name)! >= 20_000, name);
  }
  assert.ok([...expected.values()].some((m) => m === 0), 'some short windows hold no spend');
  assert.ok([...expected.values()].some((m) => m >= 20_000), 'some tags are over budget');
  assert.equal(result.blocked.length, [...expected.values()].filter((m) => m >= 20_000).length);
  const status = await h.rows(`SELECT count(*) AS n FROM budget_status`);
  assert.equal(Number(status[0]!.n), TAGS.length);
});
