import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { quoteLiteralMap } from '../../src/db/sql.ts';

test('quoteLiteralMap makes a map literal DuckDB reads back key for key, quotes included', async () => {
  const entries: [string, string][] = [
    ["/tmp/run-1/0.ndjson.gz", 'spend/dt=2026-11-01/hour=00/a-1.ndjson.gz'],
    ["/tmp/it's/1.ndjson.gz", "spend/o'brien.ndjson.gz"],
  ];
  const literal = quoteLiteralMap(entries);
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const reader = await conn.runAndReadAll(`SELECT ${literal}[$a] AS a, ${literal}[$b] AS b, ${literal}['elsewhere'] AS c`, { a: entries[0]![0], b: entries[1]![0] });
    assert.deepEqual(reader.getRowObjectsJson(), [{ a: entries[0]![1], b: entries[1]![1], c: null }]);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
  assert.throws(() => quoteLiteralMap([]), /empty map/);
  assert.throws(() => quoteLiteralMap([['a\0', 'b']]), /NUL/);
});
