import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { runIngest } from '../../jobs/steps/ingest.ts';
import { applyTimezone, runRollup } from '../../jobs/steps/rollup.ts';
import type { SpendRecord } from '../../src/spend/record.ts';
import { makeRecords, putRecordObjects } from '../helpers/spend-fixtures.ts';
import { createHarness, type Harness } from './harness.ts';
import { dayIn, decimalUnits, groupBy, tagValues, usdUnits, utcDay, type Measures } from './expected.ts';

const START = Date.parse('2026-11-05T20:00:00Z');

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
