// Store reads that hang (a server that announced more bytes than it sent) must not hold a
// proxy's polls: after the deadline the poll counts as failed, the next one starts, and what the
// hung one finds later never replaces what a newer one found.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { BlockListSource, BLOCKLIST_KEY, serializeBlockList, type BlockList } from '../../src/budget/blocklist.ts';
import { DeadlineError, withDeadline } from '../../src/budget/deadline.ts';
import { DefinitionSource } from '../../src/budget/definition-source.ts';
import { parseTagInput, TAG_FOLDER, TagRegistry } from '../../src/budget/tags.ts';
import { silentLogger } from '../../src/log.ts';
import { LocalStore } from '../../src/store/local.ts';
import { hangingStore } from '../helpers/flaky-store.ts';

test('withDeadline: the result in time; a DeadlineError after the deadline, and current() false from then on', async () => {
  assert.equal(await withDeadline(1000, 'quick work', async (current) => (current() ? 'done' : 'late')), 'done');
  let seenLate: boolean | null = null;
  let finish!: () => void;
  const t0 = Date.now();
  await assert.rejects(
    withDeadline(50, 'slow work', async (current) => {
      await new Promise<void>((r) => (finish = r));
      seenLate = current();
    }),
    (err: unknown) => err instanceof DeadlineError && /slow work took longer than 50 ms/.test(err.message),
  );
  assert.ok(Date.now() - t0 < 1000);
  finish();
  await new Promise((r) => setImmediate(r));
  assert.equal(seenLate, false);
});

describe('polls with a deadline', () => {
  let dir: string;
  let local: LocalStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tagspend-deadline-'));
    local = new LocalStore(dir);
  });
  afterEach(async () => {
    await local.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a definitions poll that hangs is given up; the next one loads the new budget, and the hung one does not bring the old one back', async () => {
    const registry = new TagRegistry(local);
    await registry.create(parseTagInput({ name: 'app:x', max_budget: 5, budget_duration: '1d' }), Date.now());
    const { store, hangNext, release } = hangingStore(local);
    const source = new DefinitionSource(store, TAG_FOLDER, silentLogger, 50);
    await source.poll();
    assert.equal(source.get('app:x')?.max_budget, 5);

    await registry.update(parseTagInput({ name: 'app:x', max_budget: 9 }), Date.now());
    hangNext(); // this poll reads the definition as it is now (9), but answers only when released
    const t0 = Date.now();
    await source.poll();
    assert.ok(Date.now() - t0 < 1000, 'given up after 50 ms');
    assert.equal(source.get('app:x')?.max_budget, 5, 'the held definition stands meanwhile');

    await registry.update(parseTagInput({ name: 'app:x', max_budget: 12 }), Date.now());
    await source.poll();
    assert.equal(source.get('app:x')?.max_budget, 12);
    release();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(source.get('app:x')?.max_budget, 12, 'the late answer (9) is discarded');
  });

  test('a block-list read that hangs is given up and the last good list stays; the next read takes the new one', async () => {
    const list = (generatedAt: string): BlockList => ({ schema: 1, generated_at: generatedAt, watermark: null, timezone: 'UTC', tags: {}, seen_tags: [], customers: [], keys: [] });
    await local.put(BLOCKLIST_KEY, serializeBlockList(list('2026-11-29T10:00:00.000Z')));
    const { store, hangNext, release } = hangingStore(local);
    const source = new BlockListSource({ store, localFile: join(dir, 'blocklist.json'), logger: silentLogger, deadlineMs: 50 });
    await source.poll();
    assert.equal(source.current?.generated_at, '2026-11-29T10:00:00.000Z');
    await local.put(BLOCKLIST_KEY, serializeBlockList(list('2026-11-29T10:05:00.000Z')));
    hangNext();
    const t0 = Date.now();
    await source.poll();
    assert.ok(Date.now() - t0 < 1000);
    assert.equal(source.current?.generated_at, '2026-11-29T10:00:00.000Z');
    await source.poll();
    assert.equal(source.current?.generated_at, '2026-11-29T10:05:00.000Z');
    release();
  });
});
