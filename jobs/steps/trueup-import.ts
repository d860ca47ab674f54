// Storing an imported bill: the lines of every (provider, UTC day) whose lines changed replace
// the stored ones in one transaction, and those days are queued for allocation (and, for an
// import, for writing to the store: jobs/steps/bill-store.ts). Lines arrive
// already validated (src/trueup/): a file with any problem never gets here.
import { appendTempRows } from '../../src/db/append.ts';
import { count, selectOne } from '../../src/db/rows.ts';
import { sql } from '../../src/db/sql.ts';
import { inTransaction } from '../../src/db/transaction.ts';
import type { BillLine } from '../../src/trueup/bill.ts';
import { formatUnits } from '../../src/trueup/money.ts';
import type { JobContext } from '../run/context.ts';

export interface BillImportResult {
  /** Lines stored (the lines of changed days only). */
  lines: number;
  /** (provider, day) pairs replaced. */
  days: number;
  /** (provider, day) pairs whose lines were already stored exactly so. */
  unchanged: number;
}

export interface BillImportOptions {
  /** The lines come from the store's bill objects: the days they change are not to be written back. */
  fromStore?: boolean;
}

export async function importBillLines(ctx: JobContext, lines: readonly BillLine[], options: BillImportOptions = {}): Promise<BillImportResult> {
  const { conn } = ctx.db;
  await conn.run(sql('trueup/create_bill_import'));
  await appendTempRows(
    conn,
    'bill_import',
    lines.map((l) => [l.provider, l.day, l.lineKey, l.model, l.description, formatUnits(l.amountUnits), l.source, l.sourceFile, l.sourceLine, l.raw]),
  );
  const pairs = new Set(lines.map((l) => `${l.provider}\u0000${l.day}`)).size;
  return inTransaction(conn, async () => {
    await conn.run(sql('trueup/stage_changed_bill_days'));
    const days = count((await selectOne(conn, sql('trueup/count_changed_bill_days')))?.days);
    if (days === 0) return { lines: 0, days: 0, unchanged: pairs };
    await conn.run(sql('trueup/delete_changed_bill_days'));
    const inserted = await conn.run(sql('trueup/insert_changed_bill_lines'), { imported_at: ctx.now().toISOString(), run_id: ctx.runId });
    await conn.run(sql('trueup/insert_pending_bill_days'));
    if (options.fromStore !== true) await conn.run(sql('trueup/insert_unstored_bill_days'));
    ctx.log.info({ days, lines: inserted.rowsChanged }, 'bill lines imported');
    return { lines: inserted.rowsChanged, days, unchanged: pairs - days };
  });
}
