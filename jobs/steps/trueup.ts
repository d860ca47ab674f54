// true-up: allocates each imported bill to the records it covers (the rule and its reasons are
// in sql/trueup/stage_allocation.sql and docs/trueup.md). Runs after ingest and re-price, before
// the rollup, for the UTC days whose bills or rows changed; writes spend_logs.billed_usd and
// trueup_pools (what each pool billed, estimated, allocated and left unattributed).
import { count, selectOne } from '../../src/db/rows.ts';
import { sql } from '../../src/db/sql.ts';
import { inTransaction } from '../../src/db/transaction.ts';
import type { JobContext } from '../run/context.ts';

export interface TrueupResult {
  /** UTC days allocated. */
  days: number;
  /** Requests whose allocated share changed. */
  changed: number;
  /** Allocation pools written. */
  pools: number;
}

export async function runTrueup(ctx: JobContext, options: { full?: boolean } = {}): Promise<TrueupResult> {
  const { conn } = ctx.db;
  await conn.run(sql('trueup/stage_scope'), { full: options.full ?? false });
  try {
    const days = count((await selectOne(conn, sql('trueup/count_scope')))?.days);
    if (days === 0) return { days: 0, changed: 0, pools: 0 };
    ctx.progress.phase('trueup', days);
    // Scratch tables in autocommit, outside the transaction (as the rollup's: DuckDB scans temp
    // tables created inside a transaction on one thread); nothing else writes meanwhile.
    await conn.run(sql('trueup/stage_allocation'));
    const changed = count((await selectOne(conn, sql('trueup/count_changed_shares')))?.n);
    const pools = await inTransaction(conn, async () => {
      await conn.run(sql('trueup/apply_allocation'));
      await conn.run(sql('trueup/replace_pools'));
      const inserted = await conn.run(sql('trueup/insert_pools'), { allocated_at: ctx.now().toISOString(), run_id: ctx.runId });
      await conn.run(sql('trueup/clear_pending_days'));
      return inserted.rowsChanged;
    });
    ctx.progress.advance(days);
    ctx.progress.end();
    ctx.log.info({ days, changed, pools }, 'bills allocated');
    return { days, changed, pools };
  } finally {
    await conn.run(sql('trueup/drop_allocation'));
  }
}
