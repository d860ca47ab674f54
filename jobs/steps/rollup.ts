// rollup: the daily aggregates (sql/rollup/stage_rollup_inputs.sql, then sql/rollup/rebuild_rollups.sql),
// rebuilt only for the days whose rows changed since the last build (rollup_pending_days, filled
// by ingest and re-price in the same transactions as their row changes, so a crash never loses
// track of a changed day).
import { count, selectOne } from '../../src/db/rows.ts';
import { sql } from '../../src/db/sql.ts';
import { inTransaction } from '../../src/db/transaction.ts';
import type { JobContext } from '../run/context.ts';

export interface RollupResult {
  days: number;
}

const TIMEZONE_STATE = 'timezone';

/**
 * Keeps spend_logs.day in the configured timezone: when the setting changed since the rows were
 * loaded, every day is re-derived and every rollup rebuilt. Runs before ingest in every run.
 */
export async function applyTimezone(ctx: JobContext): Promise<boolean> {
  const { conn } = ctx.db;
  const tz = ctx.settings.timezone;
  const row = await selectOne(conn, sql('rollup/select_jobs_state'), { name: TIMEZONE_STATE });
  if (row?.value === tz) return false;
  await inTransaction(conn, async () => {
    if (row !== null) {
      ctx.log.info({ from: row.value, to: tz }, 'timezone changed: re-deriving days and rebuilding all rollups');
      await conn.run(sql('rollup/recompute_spend_days'), { tz });
      await conn.run(sql('rollup/mark_all_days_pending'));
    }
    await conn.run(sql('rollup/upsert_jobs_state'), { name: TIMEZONE_STATE, value: tz });
  });
  return row !== null;
}

export async function runRollup(ctx: JobContext): Promise<RollupResult> {
  const { conn } = ctx.db;
  const pending = count((await selectOne(conn, sql('rollup/count_pending_days')))?.n);
  if (pending === 0) return { days: 0 };
  ctx.progress.phase('rollup', pending);
  // Scratch tables first, outside the transaction (why: sql/rollup/stage_rollup_inputs.sql).
  await conn.run(sql('rollup/stage_rollup_inputs'));
  await inTransaction(conn, () => conn.run(sql('rollup/rebuild_rollups')));
  ctx.progress.advance(pending);
  ctx.progress.end();
  return { days: pending };
}
