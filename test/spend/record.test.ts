import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_RECORD_COST_USD, serializeRecord, type SpendRecord } from '../../src/spend/record.ts';
import { isoTimestamp } from '../../src/spend/timestamp.ts';

const base: SpendRecord = {
  schema: 2, request_id: '019ac6f2-0000-7000-8000-000000000000', ts: '2026-11-27T20:53:01.123Z', end_ts: '2026-11-27T20:53:01.935Z',
  latency_ms: 812, instance: 'web1.a1b2c3', endpoint: '/v1/chat/completions', model: 'openai/gpt-5', provider: 'openai',
  upstream_model: 'gpt-5-2025-08-07', stream: false, status: 200, outcome: 'success', prompt_tokens: 12, completion_tokens: 40,
  total_tokens: 52, cached_tokens: 0, cache_write_tokens: 0, reasoning_tokens: 0, cost_usd: 0.000415, price_ref: 'builtin:2026-11',
  tags: ['app:customer-support-bot', 'env:production'], user: 'customer_54321', metadata: { project: 'q4-sales-analysis' },
  key_alias: 'support-bot', key_hash: '3f2a9c0d1e4b5a67', error: null, cache_write_1h_tokens: 0,
};

test('a serialised record is byte-for-byte JSON.stringify of it, newline-terminated', () => {
  const variants: SpendRecord[] = [
    base,
    { ...base, model: null, provider: null, upstream_model: null, cost_usd: null, price_ref: null, user: null, key_alias: null, key_hash: null, error: 'x' },
    { ...base, tags: [], metadata: {}, stream: true, status: 0, outcome: 'client_disconnect', cost_usd: 0 },
    { ...base, user: 'quote " backslash \\ newline \n unicode é \u2028 emoji 😀', error: 'tab\tcontrol\u0001', metadata: { 'k"ey': 'v\\al' }, tags: ['a"b'] },
    { ...base, cost_usd: 1.5e-7, latency_ms: 0 },
    { ...base, user: 'pair \ud83d\ude00', tags: ['del\u007f', 'é'], metadata: { '2': 'first by key order', a: '\u2028', b: '' }, error: '' },
  ];
  for (const r of variants) {
    const line = serializeRecord(r);
    assert.equal(line, JSON.stringify(r) + '\n');
    assert.deepEqual(JSON.parse(line), r);
  }
});

test('lone surrogates are written as U+FFFD and out-of-range numbers clamped, so DuckDB can load every line', () => {
  const line = serializeRecord({
    ...base,
    user: 'lone \ud800 surrogate \udfff',
    tags: ['t\udc00'],
    metadata: { 'k\ud800': 'v\udfff' },
    error: 'upstream said \udc00',
    prompt_tokens: 1e300,
    completion_tokens: -Infinity,
    total_tokens: NaN,
    cached_tokens: 2.9,
    latency_ms: 2 ** 64,
    cost_usd: 1e21,
  });
  assert.doesNotMatch(line, /\\ud[89a-f]/i, 'no surrogate escapes');
  const r = JSON.parse(line) as SpendRecord;
  assert.equal(r.user, 'lone \ufffd surrogate \ufffd');
  assert.deepEqual(r.tags, ['t\ufffd']);
  assert.deepEqual(r.metadata, { 'k\ufffd': 'v\ufffd' });
  assert.equal(r.error, 'upstream said \ufffd');
  assert.deepEqual(
    [r.prompt_tokens, r.completion_tokens, r.total_tokens, r.cached_tokens, r.latency_ms, r.cost_usd],
    [Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, null, 2, Number.MAX_SAFE_INTEGER, MAX_RECORD_COST_USD],
  );
});

test('record timestamps are written exactly as Date#toISOString writes them', () => {
  const samples = [0, 999, 1000, -1, -1001, 1.5, -1.5, 1_795_821_026_123.9, performance.timeOrigin + performance.now(), 1_795_821_026_123, 1_795_821_026_999, 1_795_821_027_000, 253_402_300_799_999, 253_402_300_800_000, -62_198_755_200_001];
  for (let i = 0; i < 2000; i++) samples.push(1_795_821_000_000 + i * 7);
  for (const ms of samples) assert.equal(isoTimestamp(ms), new Date(ms).toISOString(), String(ms));
});
