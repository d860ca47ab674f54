// Forward-looking alerts from the budgets job: a soft budget (no blocking), a window whose spend
// rate projects past max_budget, and a tag's day far above its trailing 7-day median. Each goes
// out once per window, by the same webhook and log line as threshold alerts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runBudgets } from '../../jobs/steps/budgets.ts';
import { runIngest } from '../../jobs/steps/ingest.ts';
import { applyTimezone, runRollup } from '../../jobs/steps/rollup.ts';
import { BLOCKLIST_KEY, parseBlockList } from '../../src/budget/blocklist.ts';
import { TagRegistry } from '../../src/budget/tags.ts';
import type { SpendRecord } from '../../src/spend/record.ts';
import { makeRecords, putRecordObjects } from '../helpers/spend-fixtures.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';
import { createHarness, type Harness } from '../jobs/harness.ts';

const NOW = new Date('2026-11-20T12:00:00Z');
let hook: WebhookReceiver;
let h: Harness;
let seq = 0;

function spend(n: number, cost: number, tags: string[], startIso: string, extra: Partial<SpendRecord> = {}): SpendRecord[] {
  seq += 1;
  return makeRecords(n, 5000 + seq, Date.parse(startIso), 1000).map((r, i) => ({
    ...r,
    request_id: `${r.request_id.slice(0, 30)}${String(seq).padStart(2, '0')}${String(i).padStart(4, '0')}`,
    outcome: 'success',
    status: 200,
    cost_usd: cost,
    price_ref: 'builtin:2026-11',
    error: null,
    tags,
    key_alias: 'other',
    ...extra,
  }));
}

async function budgets(records: SpendRecord[], now = NOW) {
  if (records.length) await putRecordObjects(h.store, records, 50, `alerts${seq}`);
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

const received = (kind: string) => hook.received.filter((b) => b.kind === kind);

before(async () => {
  hook = await startWebhookReceiver();
  h = await createHarness({
    alerts: { webhook_url: hook.url, thresholds: [1] },
    keys: [{ key: 'sk-ops-key-0123456789', alias: 'ops', soft_budget: 3, budget_duration: '1d' }],
  });
  const tags = new TagRegistry(h.store);
  await tags.create({ name: 'app:soft', soft_budget: 5, budget_duration: '1mo' }, NOW.getTime());
  await tags.create({ name: 'app:proj', max_budget: 100, budget_duration: '1d' }, NOW.getTime());
});

after(async () => {
  await h?.cleanup();
  await hook?.close();
});

describe('forward-looking alerts', () => {
  test('a soft budget alerts once per window and blocks nothing (a tag, and a key from config)', async () => {
    await budgets([...spend(6, 1, ['app:soft'], '2026-11-20T08:00:00Z'), ...spend(4, 1, ['env:x'], '2026-11-20T09:00:00Z', { key_alias: 'ops' })]);
    await budgets([]);
    const soft = received('soft');
    assert.deepEqual(soft.map((b) => [b.subject_kind, b.subject, b.threshold, b.spend_usd]), [
      ['key', 'ops', 3, 4],
      ['tag', 'app:soft', 5, 6],
    ]);
    assert.match(soft[1]!.text, /tag `app:soft` passed its soft budget of \$5\.00 \(\$6\.00 spent in its 1mo window\).*Nothing is blocked/);
    const list = parseBlockList((await h.store.get(BLOCKLIST_KEY).then((g) => (g && 'body' in g ? g.body : Buffer.from('')))).toString('utf8'));
    assert.equal(list.tags['app:soft'], undefined, 'no hard budget: nothing for the proxies to block');
    const rows = await h.rows(`SELECT kind, subject_kind, subject, status FROM alerts_sent WHERE kind = 'soft' ORDER BY subject_kind`);
    assert.deepEqual(rows.map((r) => [r.subject_kind, r.subject, r.status]), [['key', 'ops', 'sent'], ['tag', 'app:soft', 'sent']]);
  });

  test('a window whose spend rate projects past max_budget alerts once, before the budget is reached', async () => {
    // Noon of a 1d window with $60 spent: $120 by midnight at this rate.
    await budgets(spend(60, 1, ['app:proj'], '2026-11-20T01:00:00Z'));
    await budgets([], new Date('2026-11-20T13:00:00Z'));
    const proj = received('projected');
    assert.equal(proj.length, 1);
    assert.deepEqual([proj[0]!.subject, proj[0]!.spend_usd, proj[0]!.projected_spend_usd, proj[0]!.max_budget_usd], ['app:proj', 60, 120, 100]);
    assert.match(proj[0]!.text, /on course to spend \$120\.00 in its 1d window, over its budget of \$100\.00/);
    // The next day is a new window: a new projection may alert again.
    await budgets(spend(60, 1, ['app:proj'], '2026-11-21T01:00:00Z'), new Date('2026-11-21T12:00:00Z'));
    assert.equal(received('projected').length, 2);
  });

  test('a tag\'s day above spike_factor x its trailing 7-day median alerts once that day; a tag without history does not', async () => {
    const history: SpendRecord[] = [];
    for (let d = 14; d <= 20; d++) history.push(...spend(2, 1, ['app:spiky'], `2026-11-${d}T10:00:00Z`));
    history.push(...spend(10, 1, ['app:spiky', 'app:newcomer'], '2026-11-21T10:00:00Z'));
    await budgets(history, new Date('2026-11-21T15:00:00Z'));
    await budgets([], new Date('2026-11-21T16:00:00Z'));
    const spikes = received('spike');
    assert.deepEqual(spikes.map((b) => [b.subject, b.spend_usd, b.median_usd, b.threshold]), [['app:spiky', 10, 2, 5]]);
    assert.match(spikes[0]!.text, /tag `app:spiky` spent \$10\.00 today, 5\.0x its 7-day median of \$2\.00/);
    const rows = await h.rows(`SELECT window_start::VARCHAR AS w, reset_at::VARCHAR AS r FROM alerts_sent WHERE kind = 'spike'`);
    assert.deepEqual(rows, [{ w: '2026-11-21 00:00:00', r: '2026-11-22 00:00:00' }]);
  });
});
