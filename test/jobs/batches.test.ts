import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planBatches } from '../../jobs/steps/ingest.ts';
import type { ObjectInfo } from '../../src/store/types.ts';

const objects = (sizes: readonly number[]): ObjectInfo[] =>
  sizes.map((size, i) => ({ key: `spend/o${String(i).padStart(3, '0')}`, size, etag: `e${i}`, lastModified: new Date(0) }));
const shape = (batches: ObjectInfo[][]): number[] => batches.map((b) => b.length);
const keys = (batches: ObjectInfo[][]): string[] => batches.flat().map((o) => o.key);

test('planBatches fills as few batches as the byte limit allows, evenly instead of leaving a small last one', () => {
  const objs = objects(Array.from({ length: 20 }, () => 100));
  const batches = planBatches(objs, 32, 600);
  assert.deepEqual(shape(batches), [5, 5, 5, 5]);
  assert.deepEqual(keys(batches), objs.map((o) => o.key), 'every object once, in key order');
});

test('planBatches keeps the object-count limit and the byte limit of every batch', () => {
  const objs = objects([50, 300, 20, 20, 250, 10, 10, 10, 400, 5]);
  for (const [maxObjects, maxBytes] of [[3, 1000], [32, 450], [2, 300]] as const) {
    const batches = planBatches(objs, maxObjects, maxBytes);
    assert.deepEqual(keys(batches), objs.map((o) => o.key));
    for (const b of batches) {
      assert.ok(b.length <= maxObjects, `batch of ${b.length} objects over ${maxObjects}`);
      const bytes = b.reduce((s, o) => s + o.size, 0);
      assert.ok(b.length === 1 || bytes <= maxBytes, `batch of ${bytes} bytes over ${maxBytes}`);
    }
  }
});

test('planBatches puts an object larger than the byte limit in a batch of its own', () => {
  assert.deepEqual(shape(planBatches(objects([10, 900, 10]), 32, 100)), [1, 1, 1]);
  assert.deepEqual(shape(planBatches(objects([40, 40]), 32, 100)), [2]);
  assert.deepEqual(planBatches([], 32, 100), []);
});
