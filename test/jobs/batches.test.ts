import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planBatches } from '../../jobs/steps/batches.ts';
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

test('planBatches gives each batch a multiple of the threads in objects, as evenly as that allows', () => {
  const twenty = objects(Array.from({ length: 20 }, () => 100));
  // The byte limit allows six objects a batch: four batches, 6-6-4-4 rather than 5-5-5-5.
  assert.deepEqual(shape(planBatches(twenty, 32, 650, 2)), [6, 6, 4, 4]);
  assert.deepEqual(keys(planBatches(twenty, 32, 650, 2)), twenty.map((o) => o.key));
  // Five a batch at most: a fifth batch rather than batches of five.
  assert.deepEqual(shape(planBatches(twenty, 32, 500, 2)), [4, 4, 4, 4, 4]);
  // An odd total leaves one odd batch, the last.
  assert.deepEqual(shape(planBatches(objects(Array.from({ length: 11 }, () => 100)), 32, 650, 2)), [6, 5]);
  assert.deepEqual(shape(planBatches(twenty, 32, 650, 1)), [5, 5, 5, 5], 'one thread: evenly by bytes');
});

test('planBatches falls back to batches even by bytes when multiples of the threads would break a limit', () => {
  // Object sizes so uneven that no split into pairs stays under the byte limit.
  const objs = objects([300, 300, 300, 10, 10, 10]);
  const batches = planBatches(objs, 32, 400, 2);
  assert.deepEqual(keys(batches), objs.map((o) => o.key));
  for (const b of batches) assert.ok(b.length === 1 || b.reduce((s, o) => s + o.size, 0) <= 400);
  assert.deepEqual(shape(batches), [1, 1, 4]);
  // One batch is one batch, whatever its count.
  assert.deepEqual(shape(planBatches(objects([10, 10, 10]), 32, 100, 2)), [3]);
});
