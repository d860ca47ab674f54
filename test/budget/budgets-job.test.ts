import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runBudgets } from '../../jobs/steps/budgets.ts';
import { runIngest } from '../../jobs/steps/ingest.ts';
import { applyTimezone, runRollup } from '../../jobs/steps/rollup.ts';
import { BLOCKLIST_KEY, parseBlockList, type BlockList } from '../../src/budget/blocklist.ts';
import { TagRegistry } from '../../src/budget/tags.ts';
import type { SpendRecord } from '../../src/spend/record.ts';
import { makeRecords, putRecordObjects } from '../helpers/spend-fixtures.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';
import { createHarness, type Harness } from '../jobs/harness.ts';

const NOW = new Date('2026-11-20T12:00:00Z');
let hook: WebhookReceiver;
let h: Harness;
let seq = 0;

/** `n` requests of `cost` USD each with `tags`, one second apart from `startIso`. */
function spend(n: number, cost: number, tags: string[], startIso: string): SpendRecord[] {
  return makeRecords(n, 1000 + seq++, Date.parse(startIso), 1000).map((r, i) => ({
    ...r,
    request_id: `${r.request_id.slice(0, 30)}${String(seq).padStart(2, '0')}${String(i).padStart(4, '0')}`,
    outcome: 'success',
    status: 200,
    cost_usd: cost,
    price_ref: 'builtin:2026-11',
    error: null,
    tags,
  }));
}

async function load(records: SpendRecord[]): Promise<void> {
  await putRecordObjects(h.store, records, 50, `fixture${seq}`);
}

async function budgets(now = NOW) {
  const ctx = await h.context(now);
  try {
    await applyTimezone(ctx);
    await runIngest(ctx, { full: true });
    await runRollup(ctx);
    return await runBudgets(ctx, h.settings.alerts);
  } finally {
    ctx.db.close();
  }
}

async function storedList(): Promise<BlockList> {
  const got = await h.store.get(BLOCKLIST_KEY);
  assert.ok(got && 'body' in got, 'block-list written');
  return parseBlockList(got.body.toString('utf8'));
}

before(async () => {
  hook = await startWebhookReceiver();
  // Projections off here: these tests count threshold alerts (budget-alerts.test.ts covers the rest).
  h = await createHarness({ alerts: { webhook_url: hook.url, webhook_retries: 1, projection_min_elapsed: 1 } });
  const tags = new TagRegistry(h.store);
  await tags.create({ name: 'app:x', max_budget: 10, budget_duration: '1mo' }, NOW.getTime());
  await tags.create({ name: 'team:y', max_budget: 100, budget_duration: '1d', alert_thresholds: [0.5] }, NOW.getTime());
  await tags.create({ name: 'doc:only', description: 'no budget' }, NOW.getTime());
});

after(async () => {
  await h?.cleanup();
  await hook?.close();
});

describe('budgets job', () => {
  test('sums each budgeted tag in its current window and writes the block-list with the watermark', async () => {
    await load([
      ...spend(6, 1, ['app:x', 'env:prod'], '2026-11-03T08:00:00Z'),
      ...spend(1, 50, ['app:x'], '2026-10-31T23:59:59Z'), // previous month: not in the window
      ...spend(3, 10, ['team:y'], '2026-11-20T01:00:00Z'),
      ...spend(2, 99, ['untracked:tag'], '2026-11-19T01:00:00Z'),
    ]);
    const r = await budgets();
    const list = await storedList();
    assert.deepEqual(list.tags['app:x'], {
      spend: 6,
      max_budget: 10,
      budget_duration: '1mo',
      window_start: '2026-11-01T00:00:00.000Z',
      reset_at: '2026-12-01T00:00:00.000Z',
      blocked: false,
    });
    assert.equal(list.tags['team:y']!.spend, 30);
    assert.equal(list.tags['team:y']!.window_start, '2026-11-20T00:00:00.000Z');
    assert.equal(list.tags['doc:only'], undefined);
    assert.equal(list.watermark, '2026-11-20T01:00:02.000Z');
    assert.equal(list.generated_at, NOW.toISOString());
    assert.ok(list.seen_tags.includes('untracked:tag') && list.seen_tags.includes('env:prod'));
    assert.deepEqual(r.blocked, []);
    // app:x crossed 50%; team:y has its own threshold list [0.5] and is at 30%.
    assert.deepEqual(hook.received.map((b) => [b.tag, b.threshold]), [['app:x', 0.5]]);
    assert.match(hook.received[0]!.text, /app:x.*50%.*\$6\.00 of \$10\.00/);
  });

  test('crossing 100% blocks the tag and alerts each new threshold exactly once per window', async () => {
    await load(spend(5, 1, ['app:x'], '2026-11-20T02:00:00Z'));
    const r = await budgets();
    assert.deepEqual(r.blocked, ['app:x']);
    const list = await storedList();
    assert.equal(list.tags['app:x']!.spend, 11);
    assert.equal(list.tags['app:x']!.blocked, true);
    await budgets(); // nothing new: no alert again
    assert.deepEqual(hook.received.map((b) => [b.tag, b.threshold]), [['app:x', 0.5], ['app:x', 0.8], ['app:x', 1]]);
    const status = await h.rows(`SELECT tag, spend_usd::DOUBLE AS spend, blocked FROM budget_status WHERE tag = 'app:x' ORDER BY run_id, evaluated_at`);
    assert.deepEqual(status.map((s) => [s.spend, s.blocked]), [[6, false], [11, true], [11, true]]);
  });

  test('a failed webhook is retried, recorded in alerts_sent, never fails the job, and is sent by a later run', async () => {
    hook.status = 500;
    const before = hook.attempts;
    await load(spend(6, 10, ['team:y'], '2026-11-20T03:00:00Z'));
    const r = await budgets();
    assert.deepEqual(r.blocked, ['app:x']); // team:y at 90 of 100
    assert.equal(hook.attempts - before, 2, 'one attempt plus one retry');
    const failed = await h.rows(`SELECT tag, threshold, status, attempts, error FROM alerts_sent WHERE tag = 'team:y'`);
    assert.deepEqual(failed.map((f) => [f.tag, f.threshold, f.status, f.attempts]), [['team:y', 0.5, 'failed', 2]]);
    assert.match(String(failed[0]!.error), /HTTP 500/);
    assert.equal((await storedList()).tags['team:y']!.spend, 90);

    hook.status = 200;
    await budgets();
    await budgets();
    assert.deepEqual(hook.received.filter((b) => b.tag === 'team:y').map((b) => b.threshold), [0.5]);
    const rows = await h.rows(`SELECT status FROM alerts_sent WHERE tag = 'team:y' ORDER BY sent_at`);
    assert.deepEqual(rows.map((x) => x.status), ['failed', 'sent']);
  });

  test('a new window unblocks the tag on its own', async () => {
    const r = await budgets(new Date('2026-12-01T00:00:01Z'));
    assert.deepEqual(r.blocked, []);
    const list = await storedList();
    assert.equal(list.tags['app:x']!.spend, 0);
    assert.equal(list.tags['app:x']!.window_start, '2026-12-01T00:00:00.000Z');
    assert.equal(list.tags['app:x']!.blocked, false);
  });
});
