import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { runIngest } from '../../jobs/steps/ingest.ts';
import { applyTimezone, runRollup } from '../../jobs/steps/rollup.ts';
import type { SpendRecord } from '../../src/spend/record.ts';
import { makeRecords, putRecordObjects, seededRandom } from '../helpers/spend-fixtures.ts';
import { createHarness, type Harness } from './harness.ts';
import { dayIn, decimalUnits, groupBy, tagValues, usdUnits, utcDay, type Measures } from './expected.ts';

const START = Date.parse('2026-11-05T20:00:00Z');
const TOKEN_COLUMNS = ['prompt_tokens', 'completion_tokens', 'total_tokens', 'cached_tokens', 'cache_write_tokens', 'reasoning_tokens', 'cache_write_1h_tokens'];

/** 1e-10 USD units as DECIMAL text. */
function unitsText(units: bigint): string {
  const abs = units < 0n ? -units : units;
  const digits = abs.toString().padStart(11, '0');
  return `${units < 0n ? '-' : ''}${digits.slice(0, -10)}.${digits.slice(-10)}`;
}

async function reconcile(h: Harness): Promise<number> {
  const ctx = await h.context();
  try {
    await applyTimezone(ctx);
    await runIngest(ctx, { full: true });
    return (await runRollup(ctx)).days;
  } finally {
    ctx.db.close();
  }
}

function measuresOf(row: Record<string, unknown>): Measures {
  return {
    requests: Number(row.requests),
    errors: Number(row.errors),
    unpriced: Number(row.unpriced),
    prompt_tokens: Number(row.prompt_tokens),
    completion_tokens: Number(row.completion_tokens),
    total_tokens: Number(row.total_tokens),
    spend: decimalUnits(row.spend_usd),
  };
}

async function rollupMap(h: Harness, table: string, label: string): Promise<Map<string, Measures>> {
  const rows = await h.rows(`SELECT "day"::VARCHAR || '|' || coalesce(${label}, '(null)') AS label, * FROM ${table}`);
  return new Map(rows.map((r) => [String(r.label), measuresOf(r)]));
}

describe('rollup', () => {
  let h: Harness;
  let records: SpendRecord[];
  after(async () => h?.cleanup());

  test('every daily rollup equals the aggregates computed from the records themselves', async () => {
    h = await createHarness();
    records = makeRecords(3000, 11, START, 90_000); // ~3 days
    await putRecordObjects(h.store, records, 500);
    assert.equal(await reconcile(h), 4);

    const day = utcDay;
    assert.deepEqual(await rollupMap(h, 'rollup_daily', "''"), groupBy(records, (r) => [`${day(r)}|`]));
    assert.deepEqual(
      await rollupMap(h, 'rollup_daily_tag', 'tag'),
      groupBy(records, (r) => (r.tags.length === 0 ? [`${day(r)}|(null)`] : [...new Set(r.tags)].map((t) => `${day(r)}|${t}`))),
    );
    assert.deepEqual(await rollupMap(h, 'rollup_daily_user', '"user"'), groupBy(records, (r) => [`${day(r)}|${r.user ?? '(null)'}`]));
    assert.deepEqual(
      await rollupMap(h, 'rollup_daily_metadata', "meta_key || '=' || meta_value"),
      groupBy(records, (r) => Object.entries(r.metadata).map(([k, v]) => `${day(r)}|${k}=${v}`)),
    );
    assert.deepEqual(
      await rollupMap(h, 'rollup_daily_model', "provider || '/' || model || '/' || upstream_model"),
      groupBy(records, (r) => [`${day(r)}|${r.provider}/${r.model}/${r.upstream_model}`]),
    );
    assert.deepEqual(await rollupMap(h, 'rollup_daily_key', 'key_alias'), groupBy(records, (r) => [`${day(r)}|${r.key_alias ?? '(null)'}`]));
  });

  test('a tag key splits multi-value requests so its values add up exactly to the tagged spend', async () => {
    const rows = await h.rows(`SELECT "day"::VARCHAR AS day, tag_value, requests::VARCHAR AS requests, prompt_tokens, spend_usd::VARCHAR AS spend_usd
      FROM rollup_daily_tag_key WHERE tag_key = 'team'`);
    const multi = records.filter((r) => tagValues(r, 'team').length > 1);
    assert.ok(multi.length > 20, 'the fixtures include requests with two team values');

    for (const d of new Set(records.map(utcDay))) {
      const tagged = records.filter((r) => utcDay(r) === d && tagValues(r, 'team').length > 0);
      const ofDay = rows.filter((r) => r.day === d);
      const spend = ofDay.reduce((s, r) => s + decimalUnits(r.spend_usd), 0n);
      const requests = ofDay.reduce((s, r) => s + decimalUnits(r.requests, 6), 0n);
      const prompt = ofDay.reduce((s, r) => s + Number(r.prompt_tokens), 0);
      assert.equal(spend, tagged.reduce((s, r) => s + usdUnits(r.cost_usd), 0n), `spend of ${d}`);
      assert.equal(requests, BigInt(tagged.length) * 1_000_000n, `requests of ${d}`);
      assert.equal(prompt, tagged.reduce((s, r) => s + r.prompt_tokens, 0), `prompt tokens of ${d}`);
      // Each value gets its even share of each request, up to one unit of rounding per tag set.
      for (const row of ofDay) {
        const share = tagged.reduce((s, r) => {
          const values = tagValues(r, 'team');
          return values.includes(String(row.tag_value)) ? s + Number(usdUnits(r.cost_usd)) / values.length : s;
        }, 0);
        assert.ok(Math.abs(Number(decimalUnits(row.spend_usd)) - share) <= 200, `share of ${row.tag_value} on ${d}`);
      }
    }
  });

  test('the tag-key split is exact per tag set: whole units, remainders to the first values, amounts beyond 64-bit units and negative ones too', async () => {
    // Rows written straight into spend_logs, so amounts can go where records never do (a tag
    // set's day above 9.2e8 USD is more 1e-10 units than a BIGINT holds; bills can be negative).
    const h2 = await createHarness();
    try {
      const rand = seededRandom(77);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
      const sets = [
        ['team:a', 'team:b'], ['team:b', 'team:a', 'team:c', 'app:x'], ['team:a', 'team:a', 'team:b'], ['team:', 'team:z'],
        ['app:x', 'app:y', 'team:a', 'env:prod'], ['team:c'], ['experiment', ':odd', 'team:b', 'team:c'], [],
      ];
      const big = 999_999_999_999_999_999n; // the largest cost_usd, 99,999,999.9999999999 USD
      const amounts = [0n, 1n, 7n, 10_000_000_001n, big, big, big, -30_000_000_007n, 33_333_333_333n];
      const rows = Array.from({ length: 400 }, (_, n) => ({
        day: n % 3 === 0 ? '2026-11-01' : '2026-11-02',
        tags: pick(sets),
        outcome: rand() < 0.2 ? 'error' : 'success',
        cost: rand() < 0.1 ? null : pick(amounts),
        billed: rand() < 0.5 ? null : pick(amounts),
        tokens: TOKEN_COLUMNS.map(() => Math.floor(rand() * 5000)),
      }));
      const ctx = await h2.context();
      try {
        for (const [n, r] of rows.entries()) {
          await ctx.db.conn.run(
            `INSERT INTO spend_logs (request_id, ts, "day", outcome, cost_usd, billed_usd, tags, metadata, "schema", source_key, loaded_at, ${TOKEN_COLUMNS.join(', ')})
             VALUES ($id, $day::TIMESTAMP, $day::DATE, $outcome, $cost::DECIMAL(18, 10), $billed::DECIMAL(18, 10), $tags::VARCHAR[], MAP {}, 2, 'k', now()::TIMESTAMP,
               ${TOKEN_COLUMNS.map((_, i) => `$t${i}`).join(', ')})`,
            {
              id: `r${n}`, day: r.day, outcome: r.outcome, tags: JSON.stringify(r.tags),
              cost: r.cost === null ? null : unitsText(r.cost), billed: r.billed === null ? null : unitsText(r.billed),
              ...Object.fromEntries(r.tokens.map((t, i) => [`t${i}`, t])),
            },
          );
        }
        await ctx.db.conn.run(`INSERT INTO rollup_pending_days VALUES ('2026-11-01'), ('2026-11-02')`);
        await runRollup(ctx);
      } finally {
        ctx.db.close();
      }

      // The rule, computed from the rows: per (day, exact tag list), each measure in whole units
      // (1e-6 requests, tokens, 1e-10 USD) split over the n distinct values of a key, the i-th
      // value in sort order getting one more unit while i <= the remainder.
      const bySet = new Map<string, { day: string; tags: string[]; m: bigint[] }>();
      for (const r of rows) {
        const id = `${r.day}|${JSON.stringify(r.tags)}`;
        const set = bySet.get(id) ?? { day: r.day, tags: r.tags, m: Array.from({ length: 5 + TOKEN_COLUMNS.length }, () => 0n) };
        bySet.set(id, set);
        const m = [1_000_000n, r.outcome === 'success' ? 0n : 1_000_000n, r.cost === null ? 1_000_000n : 0n, ...r.tokens.map(BigInt), r.cost ?? 0n, r.billed ?? 0n];
        m.forEach((v, i) => (set.m[i]! += v));
      }
      const expected = new Map<string, bigint[]>();
      for (const { day, tags, m } of bySet.values()) {
        const byKey = new Map<string, string[]>();
        for (const tag of new Set(tags)) {
          const at = tag.indexOf(':');
          if (at > 0) byKey.set(tag.slice(0, at), [...(byKey.get(tag.slice(0, at)) ?? []), tag.slice(at + 1)]);
        }
        for (const [key, values] of byKey) {
          const n = BigInt(values.length);
          values.sort().forEach((value, i) => {
            const label = `${day}|${key}|${value}`;
            const sums = expected.get(label) ?? m.map(() => 0n);
            m.forEach((units, k) => {
              const abs = units < 0n ? -units : units;
              const share = abs / n + (BigInt(i + 1) <= abs % n ? 1n : 0n);
              sums[k]! += units < 0n ? -share : share;
            });
            expected.set(label, sums);
          });
        }
      }
      const stored = await h2.rows(`SELECT "day"::VARCHAR AS day, tag_key, tag_value, requests::VARCHAR AS requests, errors::VARCHAR AS errors,
        unpriced::VARCHAR AS unpriced, ${TOKEN_COLUMNS.join(', ')}, spend_usd::VARCHAR AS spend, billed_usd::VARCHAR AS billed FROM rollup_daily_tag_key`);
      const actual = new Map(
        stored.map((r) => [
          `${r.day}|${r.tag_key}|${r.tag_value}`,
          [decimalUnits(r.requests, 6), decimalUnits(r.errors, 6), decimalUnits(r.unpriced, 6), ...TOKEN_COLUMNS.map((c) => BigInt(String(r[c]))), decimalUnits(r.spend), decimalUnits(r.billed)],
        ]),
      );
      assert.ok([...bySet.values()].some((set) => set.m.at(-2)! > 2n ** 63n), 'a tag set spends more 1e-10 USD units than 64 bits hold');
      assert.deepEqual(actual, expected);
    } finally {
      await h2.cleanup();
    }
  });

  test('only the days that changed are rebuilt', async () => {
    const before = await h.rows(`SELECT "day"::VARCHAR AS day, requests FROM rollup_daily ORDER BY 1`);
    const later = makeRecords(50, 12, Date.parse('2026-11-09T10:00:00Z'), 60_000);
    await putRecordObjects(h.store, later, 50, 'fixture2');
    assert.equal(await reconcile(h), 1);
    const afterRows = await h.rows(`SELECT "day"::VARCHAR AS day, requests FROM rollup_daily ORDER BY 1`);
    assert.deepEqual(afterRows.slice(0, before.length), before);
    assert.deepEqual(afterRows.at(-1), { day: '2026-11-09', requests: '50' });
    assert.equal(await reconcile(h), 0, 'a run with nothing new rebuilds nothing');
  });

  test('days follow the configured timezone, and a timezone change re-derives them', async () => {
    await h.cleanup();
    h = await createHarness({ timezone: 'America/New_York' });
    records = makeRecords(400, 13, START, 600_000);
    await putRecordObjects(h.store, records, 100);
    await reconcile(h);
    const local = dayIn('America/New_York');
    assert.deepEqual(await rollupMap(h, 'rollup_daily', "''"), groupBy(records, (r) => [`${local(r)}|`]));

    const tokyo = await createHarness({ timezone: 'Asia/Tokyo' });
    try {
      // Same file, new setting: point the second harness at the first one's file.
      tokyo.settings = { ...tokyo.settings, dbFile: h.settings.dbFile };
      const ctx = await tokyo.context();
      try {
        assert.equal(await applyTimezone(ctx), true);
        await runRollup(ctx);
      } finally {
        ctx.db.close();
      }
    } finally {
      await tokyo.cleanup();
    }
    const inTokyo = dayIn('Asia/Tokyo');
    assert.deepEqual(await rollupMap(h, 'rollup_daily', "''"), groupBy(records, (r) => [`${inTokyo(r)}|`]));
  });
});
