// true-up: allocates each imported bill to the records it covers (the rule and its reasons are
// in sql/trueup/stage_allocation.sql and docs/trueup.md). Runs after ingest and re-price, before
// the rollup, for the UTC days whose bills or rows changed; writes spend_logs.billed_usd and
// trueup_pools (what each pool billed, estimated, allocated and left unattributed).
//
// In pieces, so that memory does not grow with the records: consecutive days are allocated
// together up to `pieceRows` records (a pool never spans two UTC days, so the shares are those of
// one allocation of every day), and the changed shares are written at most `pieceRows` rows per
// transaction (DuckDB holds an UPDATE's undo in memory until COMMIT). Every day of the run stays
// in trueup_pending_days until the transaction that writes its pools: a run that stops between
// pieces leaves those days to the next run, which allocates them again and ends where an
// uninterrupted run would have.
import { count, selectOne, selectRows } from '../../src/db/rows.ts';
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

/**
 * Records allocated together, and shares written per transaction, at most (a single day with
 * more records is still allocated as one batch). At 5M records an UPDATE of 4M shares held
 * about 180 MiB of undo; a million keeps a piece well inside the default 1GB memory_limit.
 */
export const PIECE_ROWS = 1_000_000;

export interface TrueupHooks {
  /** After each committed transaction (shares or pools): where a crash between pieces happens. */
  afterCommit?(): void | Promise<void>;
}

export interface TrueupOptions {
  /** Allocate every billed or allocated day again. */
  full?: boolean;
  /** At most this many records per batch of days and shares per transaction (default PIECE_ROWS). */
  pieceRows?: number;
  hooks?: TrueupHooks;
}

export interface ScopeDay {
  day: string;
  records: number;
}

export interface DayBatch {
  from: string;
  to: string;
  days: number;
  records: number;
}

/**
 * Consecutive days (sorted) grouped into batches of at most `maxRecords` records; a day with
 * more records than that is a batch of its own, and days without records ride along.
 */
export function dayBatches(days: readonly ScopeDay[], maxRecords: number): DayBatch[] {
  const batches: DayBatch[] = [];
  let cur: DayBatch | null = null;
  for (const d of days) {
    if (cur === null || (d.records > 0 && cur.records > 0 && cur.records + d.records > maxRecords)) {
      cur = { from: d.day, to: d.day, days: 0, records: 0 };
      batches.push(cur);
    }
    cur.to = d.day;
    cur.days += 1;
    cur.records += d.records;
  }
  return batches;
}

export async function runTrueup(ctx: JobContext, options: TrueupOptions = {}): Promise<TrueupResult> {
  const { conn } = ctx.db;
  const pieceRows = options.pieceRows ?? PIECE_ROWS;
  if (!Number.isSafeInteger(pieceRows) || pieceRows < 1) throw new RangeError(`pieceRows must be a positive integer, got ${pieceRows}`);
  const committed = async (): Promise<void> => {
    await options.hooks?.afterCommit?.();
  };
  await conn.run(sql('trueup/stage_scope'), { full: options.full ?? false });
  try {
    const scope = (await selectRows(conn, sql('trueup/count_scope_records'))).map((r) => ({ day: String(r.day), records: count(r.records) }));
    if (scope.length === 0) return { days: 0, changed: 0, pools: 0 };
    ctx.progress.phase('trueup', scope.length);
    await conn.run(sql('trueup/mark_scope_pending'));
    // Scratch tables in autocommit, outside the transactions (as the rollup's: DuckDB scans temp
    // tables created inside a transaction on one thread); nothing else writes meanwhile.
    await conn.run(sql('trueup/stage_pools'));
    let changed = 0;
    let pools = 0;
    for (const batch of dayBatches(scope, pieceRows)) {
      await conn.run(sql('trueup/stage_batch'), { from: batch.from, to: batch.to });
      await conn.run(sql('trueup/stage_allocation'), { piece_rows: pieceRows });
      const staged = await selectOne(conn, sql('trueup/count_changed_shares'));
      const pieces = count(staged?.pieces);
      for (let piece = 0; piece < pieces; piece++) {
        await inTransaction(conn, async () => {
          await conn.run(sql('trueup/insert_changed_days'), { piece });
          await conn.run(sql('trueup/apply_allocation'), { piece });
        });
        await committed();
      }
      pools += await inTransaction(conn, async () => {
        await conn.run(sql('trueup/replace_pools'));
        const inserted = await conn.run(sql('trueup/insert_pools'), { allocated_at: ctx.now().toISOString(), run_id: ctx.runId });
        await conn.run(sql('trueup/clear_pending_days'));
        return inserted.rowsChanged;
      });
      await committed();
      changed += count(staged?.n);
      ctx.progress.advance(batch.days);
      ctx.log.debug({ from: batch.from, to: batch.to, records: batch.records, changed: count(staged?.n), pieces }, 'bills allocated to a batch of days');
    }
    ctx.progress.end();
    ctx.log.info({ days: scope.length, changed, pools }, 'bills allocated');
    return { days: scope.length, changed, pools };
  } finally {
    await conn.run(sql('trueup/drop_allocation'));
  }
}
