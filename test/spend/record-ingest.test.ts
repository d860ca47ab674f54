// Property: every record the writer produces is loaded by ingest. Random records (seeded, so a
// failure repeats) with odd unicode, huge and fractional numbers, empty strings and long
// metadata go through the real writer (SpendWriter, serializeRecord), the shipper's gzip and
// the real ingest into a DuckDB file; every one must land in spend_logs, none in rejected_lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runIngest } from '../../jobs/steps/ingest.ts';
import { seededRandom } from '../../src/demo/random.ts';
import { silentLogger } from '../../src/log.ts';
import { uuidv7 } from '../../src/proxy/request-id.ts';
import { MAX_RECORD_COST_USD, OUTCOMES, type SpendRecord } from '../../src/spend/record.ts';
import { isoTimestamp } from '../../src/spend/timestamp.ts';
import { gzipFile } from '../../src/spool/gzip.ts';
import { segmentObjectKey } from '../../src/spool/segment.ts';
import { SpendWriter } from '../../src/spool/writer.ts';
import { createHarness } from '../jobs/harness.ts';

type Rand = () => number;

// Code units a client, a provider or a config file can put into a string.
const UNITS: readonly (readonly [number, number])[] = [
  [0x20, 0x7e], // printable ASCII
  [0x00, 0x1f], // C0 controls
  [0x7f, 0x9f], // DEL and C1 controls
  [0xd800, 0xdbff], // high surrogates (lone unless a low one follows by chance)
  [0xdc00, 0xdfff], // low surrogates
  [0x4e00, 0x4e80], // CJK
  [0xfff0, 0xffff], // specials, U+FFFE and U+FFFF
  [0x2028, 0x2029], // line and paragraph separators
];
const PIECES = ['"', '\\', '\\u0000', '😀', 'é', '\r\n', ',', '=', '\u0000', 'café', '€uro', '[REDACTED]', ''];

function oddString(rand: Rand, maxLength: number): string {
  const length = rand() < 0.1 ? 0 : Math.floor(rand() * rand() * maxLength);
  let s = '';
  while (s.length < length) {
    if (rand() < 0.2) {
      s += PIECES[Math.floor(rand() * PIECES.length)];
      continue;
    }
    const [lo, hi] = UNITS[Math.floor(rand() * UNITS.length)]!;
    s += String.fromCharCode(lo + Math.floor(rand() * (hi - lo + 1)));
  }
  return s;
}

const HUGE = [1e300, 1e21, 2 ** 63, 2 ** 64, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, 1e19, Number.MAX_VALUE, Infinity, -Infinity, NaN, -1, -1e300, 0.5, 1234.75, -0];

function oddInt(rand: Rand): number {
  const r = rand();
  if (r < 0.6) return Math.floor(rand() * 100_000);
  if (r < 0.8) return Math.floor(rand() * Number.MAX_SAFE_INTEGER);
  return HUGE[Math.floor(rand() * HUGE.length)]!;
}

function oddCost(rand: Rand): number | null {
  const r = rand();
  if (r < 0.1) return null;
  if (r < 0.6) return rand() / 100;
  if (r < 0.7) return Math.round(rand() * 1e6 * 1e10) / 1e10;
  const odd = [1e8, 99_999_999.99, 1e9, 1e300, 5e-324, 1e-11, 0.00012345678901234567, -0.25, NaN, Infinity, MAX_RECORD_COST_USD];
  return odd[Math.floor(rand() * odd.length)]!;
}

function maybe<T>(rand: Rand, value: () => T): T | null {
  return rand() < 0.2 ? null : value();
}

function oddRecord(rand: Rand, i: number): SpendRecord {
  const startMs = Date.UTC(2000, 0, 1) + Math.floor(rand() * 100 * 365 * 86_400_000);
  const tags = Array.from({ length: Math.floor(rand() * (rand() < 0.1 ? 64 : 6)) }, () => oddString(rand, rand() < 0.1 ? 256 : 24));
  const metadata: Record<string, string> = {};
  const entries = Math.floor(rand() * (rand() < 0.1 ? 200 : 5));
  for (let k = 0; k < entries; k++) metadata[oddString(rand, 40)] = oddString(rand, rand() < 0.1 ? 8192 : 40);
  return {
    schema: 2,
    request_id: uuidv7(startMs + i),
    ts: isoTimestamp(startMs),
    end_ts: isoTimestamp(startMs + Math.floor(rand() * 600_000)),
    latency_ms: oddInt(rand),
    instance: 'prop1',
    endpoint: rand() < 0.5 ? '/v1/chat/completions' : oddString(rand, 30),
    model: maybe(rand, () => oddString(rand, 1024)),
    provider: maybe(rand, () => oddString(rand, 20)),
    upstream_model: maybe(rand, () => oddString(rand, 1024)),
    stream: rand() < 0.5,
    status: Math.floor(rand() * 600),
    outcome: OUTCOMES[Math.floor(rand() * OUTCOMES.length)]!,
    prompt_tokens: oddInt(rand),
    completion_tokens: oddInt(rand),
    total_tokens: oddInt(rand),
    cached_tokens: oddInt(rand),
    cache_write_tokens: oddInt(rand),
    reasoning_tokens: oddInt(rand),
    cost_usd: oddCost(rand),
    price_ref: maybe(rand, () => oddString(rand, 40)),
    tags,
    user: maybe(rand, () => oddString(rand, 256)),
    metadata,
    key_alias: maybe(rand, () => oddString(rand, 40)),
    key_hash: maybe(rand, () => oddString(rand, 16)),
    error: maybe(rand, () => oddString(rand, 1000)),
    cache_write_1h_tokens: oddInt(rand),
  };
}

const wellFormed = (s: string | null): string | null => (s === null ? null : s.toWellFormed());

test('every record the writer produces is loaded by ingest (random records: odd unicode, huge numbers, empty strings, long metadata)', async () => {
  const h = await createHarness();
  try {
    const spool = join(h.dir, 'spool');
    const writer = new SpendWriter({ spoolDir: spool, instance: 'prop1', maxBytes: 256 * 1024, maxAgeMs: 3_600_000, logger: silentLogger });
    const segments: Parameters<Parameters<typeof writer.on<'segment'>>[1]>[0][] = [];
    writer.on('segment', (s) => segments.push(s));
    const rand = seededRandom(20261209);
    const records: SpendRecord[] = [];
    for (let i = 0; i < 1500; i++) {
      const r = oddRecord(rand, i);
      records.push(r);
      writer.write(r);
    }
    writer.close();
    for (const seg of segments) {
      const gz = `${seg.path}.gz`;
      await gzipFile(seg.path, gz);
      await h.store.putFile(segmentObjectKey(seg), gz);
    }

    const ctx = await h.context();
    let result;
    try {
      result = await runIngest(ctx, { full: true });
    } finally {
      ctx.db.close();
    }
    const rejected = await h.rows('SELECT line_number, reason, left(raw, 200) AS raw FROM rejected_lines ORDER BY object_key, line_number LIMIT 5');
    assert.deepEqual(rejected, [], 'no line the writer wrote is rejected');
    assert.equal(result.rows, records.length);
    assert.equal(result.rejected, 0);

    const rows = await h.rows(`SELECT request_id, model, upstream_model, "user", error, tags, map_keys(metadata) AS mk, map_values(metadata) AS mv,
      prompt_tokens::VARCHAR AS prompt, latency_ms::VARCHAR AS latency, cost_usd::DOUBLE AS cost FROM spend_logs`);
    const byId = new Map(rows.map((r) => [r.request_id as string, r]));
    assert.equal(byId.size, records.length);
    for (const r of records) {
      const row = byId.get(r.request_id)!;
      assert.ok(row, r.request_id);
      // Strings arrive as written, except lone surrogates, which become U+FFFD.
      assert.equal(row.model, wellFormed(r.model), 'model');
      assert.equal(row.upstream_model, wellFormed(r.upstream_model), 'upstream_model');
      assert.equal(row.user, wellFormed(r.user), 'user');
      assert.equal(row.error, wellFormed(r.error), 'error');
      assert.deepEqual(row.tags, r.tags.map((t) => t.toWellFormed()), 'tags');
      const meta = new Map(Object.entries(r.metadata).map(([k, v]) => [k.toWellFormed(), v.toWellFormed()]));
      assert.deepEqual(new Map((row.mk as string[]).map((k, i) => [k, (row.mv as string[])[i]!])), meta, 'metadata');
      // Counts a BIGINT cannot hold are clamped; anything else is kept (fractions rounded down).
      const tokens = r.prompt_tokens;
      const expected = Number.isNaN(tokens) ? null : String(Math.trunc(Math.max(-Number.MAX_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, tokens))));
      assert.equal(row.prompt, expected === '-0' ? '0' : expected, `prompt_tokens ${tokens}`);
      const cost = r.cost_usd;
      if (cost === null || Number.isNaN(cost)) assert.equal(row.cost, null, `cost ${cost}`);
      else assert.ok(Math.abs((row.cost as number) - Math.max(-MAX_RECORD_COST_USD, Math.min(MAX_RECORD_COST_USD, cost))) < 1e-9, `cost ${cost} -> ${row.cost}`);
    }
  } finally {
    await h.cleanup();
  }
});
