import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BLOCKLIST_KEY, BlockListSource, serializeBlockList, type BlockList } from '../../src/budget/blocklist.ts';
import { BudgetEnforcer, type AdmissionRequest } from '../../src/budget/gate.ts';
import type { TagDefinition } from '../../src/budget/tags.ts';
import { BudgetExceededError, StoreUnavailableError } from '../../src/errors.ts';
import { silentLogger } from '../../src/log.ts';
import { LocalStore } from '../../src/store/local.ts';
import type { ObjectStore } from '../../src/store/types.ts';

const NOW = Date.parse('2026-11-20T12:00:00Z');
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function def(name: string, max: number, duration = '1d'): TagDefinition {
  return { name, description: null, max_budget: max, budget_duration: duration, soft_budget: null, alert_thresholds: null, created_at: '', updated_at: '', created_by: null, updated_by: null, history: [] };
}

function list(watermark: string | null, tags: BlockList['tags']): BlockList {
  return { schema: 1, generated_at: new Date(NOW).toISOString(), watermark, timezone: 'UTC', tags, seen_tags: [], customers: [], keys: [] };
}

/** A request with these tags whose worst case is `estimate` USD. */
function req(tags: string[], estimate = 0): AdmissionRequest {
  return { tags, customer: null, key: null, estimate: { total: estimate, input: estimate, inputTokens: 0, outputTokens: 0 }, model: 'm' };
}

/** Spend as a finished request: admitted (whatever the state) and settled at `cost`. */
function spent(gate: BudgetEnforcer, tags: string[], cost: number, atMs: number): void {
  gate.settle({ amount: 0, input: 0, ledgers: tags.map((t) => (gate as any).ledgers.get('tag', t)), settled: false }, cost, atMs);
}

function entry(spend: number, max: number, windowStart = '2026-11-20T00:00:00.000Z') {
  return { spend, max_budget: max, budget_duration: '1d', window_start: windowStart, reset_at: '2026-11-21T00:00:00.000Z', blocked: spend >= max };
}

function gateWith(defs: TagDefinition[] | null, bl: BlockList | null) {
  const byName = new Map((defs ?? []).map((d) => [d.name, d]));
  const sources = { definitions: { loaded: defs !== null, get: (n: string) => byName.get(n) }, blockList: { current: bl } };
  return { gate: new BudgetEnforcer(sources, 'UTC'), sources, byName };
}

test('own spend after the watermark adds to the reconciled spend; spend at or before it does not', () => {
  const { gate } = gateWith([def('app:x', 10)], list('2026-11-20T11:00:00.000Z', { 'app:x': entry(8, 10) }));
  spent(gate, ['app:x'], 5, Date.parse('2026-11-20T10:59:59Z')); // already in the reconciled 8
  gate.settle(gate.admit(req(['app:x']), NOW), 0, NOW);
  assert.equal(gate.status('tag', 'app:x', NOW)!.spend, 8);
  spent(gate, ['app:x'], 1.5, Date.parse('2026-11-20T11:30:00Z'));
  gate.settle(gate.admit(req(['app:x']), NOW), 0, NOW);
  spent(gate, ['app:x'], 0.5, Date.parse('2026-11-20T11:31:00Z'));
  assert.throws(
    () => gate.admit(req(['env:prod', 'app:x']), NOW),
    (err: unknown) => err instanceof BudgetExceededError && err.tag === 'app:x' && err.message === 'Budget has been exceeded! Tag=app:x Current cost: 10, Max budget: 10' && err.retryAfterSeconds === 12 * 3600 && !err.transient,
  );
  const s = gate.status('tag', 'app:x', NOW)!;
  assert.deepEqual([s.reconciled_spend, s.unreconciled_spend, s.blocked], [8, 2, true]);
});

test('a block-list figure for an older window is ignored, and a newer watermark drops counted own spend', () => {
  const { gate, sources } = gateWith([def('app:x', 10)], list('2026-11-19T23:00:00.000Z', { 'app:x': entry(50, 10, '2026-11-19T00:00:00.000Z') }));
  spent(gate, ['app:x'], 3, Date.parse('2026-11-20T09:00:00Z'));
  assert.equal(gate.status('tag', 'app:x', NOW)!.spend, 3, 'yesterday\'s 50 is not in today\'s window');
  sources.blockList.current = list('2026-11-20T10:00:00.000Z', { 'app:x': entry(3, 10) });
  assert.deepEqual([gate.status('tag', 'app:x', NOW)!.reconciled_spend, gate.status('tag', 'app:x', NOW)!.unreconciled_spend], [3, 0]);
});

test('the current definition decides: a raised budget unblocks, a deleted tag is not limited', () => {
  const { gate, byName } = gateWith([def('app:x', 10)], list(null, { 'app:x': entry(12, 10) }));
  assert.throws(() => gate.admit(req(['app:x']), NOW), BudgetExceededError);
  byName.set('app:x', def('app:x', 20));
  assert.ok(gate.admit(req(['app:x']), NOW));
  byName.delete('app:x');
  assert.equal(gate.admit(req(['app:x']), NOW), null, 'no budget touched: no reservation');
  assert.equal(gate.status('tag', 'app:x', NOW), null);
});

test('before the definitions could be read, the block-list budgets are enforced', () => {
  const { gate } = gateWith(null, list(null, { 'app:x': entry(12, 10) }));
  assert.throws(() => gate.admit(req(['app:x']), NOW), BudgetExceededError);
  assert.equal(gate.admit(req(['app:y']), NOW), null);
});

test('the block-list poller keeps the last good list through an outage and a corrupt object, and a restart reads the local copy', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tagspend-blocklist-'));
  dirs.push(dir);
  const local = new LocalStore(join(dir, 'store'));
  let down = false;
  const store = new Proxy(local, {
    get(target, prop) {
      if (prop === 'get' && down) return async () => Promise.reject(new StoreUnavailableError('connect ECONNREFUSED'));
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  }) as ObjectStore;
  const localFile = join(dir, 'data', 'blocklist.json');
  const good = list('2026-11-20T11:00:00.000Z', { 'app:x': entry(12, 10) });
  await local.put(BLOCKLIST_KEY, serializeBlockList(good));
  const source = new BlockListSource({ store, localFile, logger: silentLogger });
  await source.poll();
  assert.deepEqual(source.current, good);

  down = true;
  await source.poll();
  assert.deepEqual(source.current, good);
  down = false;
  await local.put(BLOCKLIST_KEY, '{"schema":1,"tags":{');
  await source.poll();
  assert.deepEqual(source.current, good);

  const restarted = new BlockListSource({ store, localFile, logger: silentLogger });
  assert.deepEqual(restarted.loadLocal(), good);
  await restarted.poll(); // the store still holds the corrupt object
  assert.deepEqual(restarted.current, good);
  await local.close();
});
