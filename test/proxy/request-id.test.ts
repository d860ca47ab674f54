import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uuidv7 } from '../../src/proxy/request-id.ts';

test('request ids are RFC 9562 UUID v7 carrying the millisecond timestamp, and unique', () => {
  const now = Date.UTC(2026, 10, 27, 20, 53, 1, 123);
  const ids = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    const id = uuidv7(now);
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    ids.add(id);
  }
  assert.equal(ids.size, 5000);
  const id = uuidv7(now);
  assert.equal(parseInt(id.slice(0, 8) + id.slice(9, 13), 16), now);
  assert.ok(uuidv7(now + 1000).slice(0, 13) > id.slice(0, 13), 'later ids sort after earlier ones');
});
