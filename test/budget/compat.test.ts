// Contracts that outlive a release: a DuckDB file of schema version 1 upgrades to customer/key
// budgets and alert kinds with its rows intact, and the block-list stays readable both ways
// (an old proxy reading a new list, a new proxy reading an old one).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { BudgetEnforcer } from '../../src/budget/gate.ts';
import { parseBlockList, serializeBlockList, type BlockList } from '../../src/budget/blocklist.ts';
import { parseUsageFile } from '../../src/budget/fleet.ts';
import { migrate, SCHEMA_VERSION } from '../../src/db/migrate.ts';
import { openWriter } from '../../src/db/open.ts';
import { selectRows } from '../../src/db/rows.ts';
import { sql } from '../../src/db/sql.ts';
import { BudgetExceededError } from '../../src/errors.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('a schema-1 file with budget history upgrades with every row intact, as tag rows and threshold alerts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tagspend-migrate-'));
  dirs.push(dir);
  const file = join(dir, 'old.duckdb');
  // The file as the first release left it: migration 1 only, rows written by its statements.
  let db = await openWriter(file, { threads: 1 });
  try {
    await db.conn.run(sql('db/create_migrations_table'));
    await db.conn.run(sql('migrations/0001_initial'));
    await db.conn.run(sql('db/insert_migration'), { version: 1, name: '0001_initial', applied_at: '2026-11-01T00:00:00Z' });
    await db.conn.run(`INSERT INTO budget_status VALUES (7, '2026-11-20 12:00:00', 'app:x', '1mo', '2026-11-01', '2026-12-01', 11.5, 10, true, '2026-11-20 11:59:00')`);
    await db.conn.run(`INSERT INTO alerts_sent VALUES ('app:x', '2026-11-01', '2026-12-01', 0.8, 8.2, 10, 'sent', 1, NULL, '2026-11-15 10:00:00', 5)`);
  } finally {
    db.close();
  }

  db = await openWriter(file, { threads: 1 });
  try {
    assert.deepEqual(await migrate(db.conn, file), [...Array(SCHEMA_VERSION - 1).keys()].map((i) => i + 2));
    const status = await selectRows(db.conn, `SELECT run_id::INTEGER AS run_id, tag, subject_kind, subject, budget_source, spend_usd::DOUBLE AS spend, max_budget_usd::DOUBLE AS max, blocked FROM budget_status`);
    assert.deepEqual(status, [{ run_id: 7, tag: 'app:x', subject_kind: 'tag', subject: 'app:x', budget_source: 'own', spend: 11.5, max: 10, blocked: true }]);
    const alerts = await selectRows(db.conn, `SELECT tag, kind, subject_kind, subject, threshold, status FROM alerts_sent`);
    assert.deepEqual(alerts, [{ tag: 'app:x', kind: 'threshold', subject_kind: 'tag', subject: 'app:x', threshold: 0.8, status: 'sent' }]);
    // The new statements write customer rows (no tag, no hard budget) next to them.
    await db.conn.run(sql('budgets/insert_budget_status'), {
      run_id: 8, evaluated_at: '2026-11-21T00:00:00Z', tag: null, budget_duration: '1d', window_start: '2026-11-21T00:00:00Z', reset_at: '2026-11-22T00:00:00Z',
      spend_usd: 1, max_budget_usd: null, blocked: false, watermark: null, subject_kind: 'customer', subject: 'c1', budget_source: 'own', soft_budget_usd: 0.5,
    });
    const rows = await selectRows(db.conn, `SELECT subject_kind, subject, tag FROM budget_status ORDER BY run_id`);
    assert.deepEqual(rows, [{ subject_kind: 'tag', subject: 'app:x', tag: 'app:x' }, { subject_kind: 'customer', subject: 'c1', tag: null }]);
  } finally {
    db.close();
  }
});

/** The block-list schema exactly as the first release parses it (src/budget/blocklist.ts then). */
const releaseOneSchema = z.object({
  schema: z.literal(1),
  generated_at: z.string(),
  watermark: z.string().nullable(),
  timezone: z.string(),
  tags: z.record(
    z.string(),
    z.object({ spend: z.number().finite(), max_budget: z.number().finite(), budget_duration: z.string(), window_start: z.string(), reset_at: z.string(), blocked: z.boolean() }),
  ),
  seen_tags: z.array(z.string()).default([]),
});

const entry = { spend: 12, max_budget: 10, budget_duration: '1d', window_start: '2026-11-20T00:00:00.000Z', reset_at: '2026-11-21T00:00:00.000Z', blocked: true };
const NOW = Date.parse('2026-11-20T12:00:00Z');

test('an old proxy reads a new block-list: its tags as before, customers and keys ignored', () => {
  const list: BlockList = {
    schema: 1,
    generated_at: '2026-11-20T12:00:00.000Z',
    watermark: '2026-11-20T11:59:00.000Z',
    timezone: 'UTC',
    tags: { 'app:x': entry },
    seen_tags: ['app:x'],
    customers: [{ id: '__proto__', ...entry }],
    keys: [{ alias: 'bot', ...entry }],
  };
  const old = releaseOneSchema.parse(JSON.parse(serializeBlockList(list)));
  assert.deepEqual(old.tags, { 'app:x': entry });
  assert.ok(!('customers' in old));
});

test('a new proxy reads an old block-list (no customers, no keys) and enforces its tags', () => {
  const text = JSON.stringify({ schema: 1, generated_at: '2026-11-20T12:00:00.000Z', watermark: null, timezone: 'UTC', tags: { 'app:x': entry }, seen_tags: [] });
  const list = parseBlockList(text);
  assert.deepEqual([list.customers, list.keys], [[], []]);
  const gate = new BudgetEnforcer({ definitions: { loaded: false, get: () => undefined }, blockList: { current: list } }, 'UTC');
  assert.throws(
    () => gate.admit({ tags: ['app:x'], customer: 'c1', key: null, estimate: null, model: 'm' }, NOW),
    (e: unknown) => e instanceof BudgetExceededError && e.subject === 'app:x',
  );
  assert.equal(gate.admit({ tags: ['app:y'], customer: 'c1', key: null, estimate: null, model: 'm' }, NOW), null);
});

test('a customer id that is a JavaScript property name is an ordinary customer in the block-list', () => {
  const text = JSON.stringify({ schema: 1, generated_at: 'x', watermark: null, timezone: 'UTC', tags: {}, customers: [{ id: '__proto__', ...entry }, { id: 'constructor', ...entry }] });
  const list = parseBlockList(text);
  const gate = new BudgetEnforcer({ definitions: { loaded: true, get: () => undefined }, customers: { loaded: false, get: () => undefined }, blockList: { current: list } }, 'UTC');
  for (const id of ['__proto__', 'constructor']) {
    assert.throws(() => gate.admit({ tags: [], customer: id, key: null, estimate: null, model: 'm' }, NOW), (e: unknown) => e instanceof BudgetExceededError && e.message.includes(`Customer=${id} `));
  }
});

test('usage files of other proxies are parsed strictly: a bad one is refused, not half-read', () => {
  const good = { schema: 1, instance: 'web1.abc', published_at: '2026-11-20T12:00:00.000Z', watermark: null, subjects: [{ kind: 'tag', name: 'app:x', window_start: '2026-11-20T00:00:00.000Z', spend: 1, reserved: 0.5 }] };
  assert.equal(parseUsageFile(JSON.stringify(good)).subjects[0]!.reserved, 0.5);
  for (const bad of [{ ...good, schema: 2 }, { ...good, subjects: [{ ...good.subjects[0], kind: 'team' }] }, { ...good, subjects: [{ ...good.subjects[0], spend: -1 }] }]) {
    assert.throws(() => parseUsageFile(JSON.stringify(bad)));
  }
});
