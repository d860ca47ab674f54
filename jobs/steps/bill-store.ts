// Imported bills and the store (docs/trueup.md, "Bills in the store"). The store holds each
// provider's bill of a UTC day as one object; billed_costs is loaded from those objects like
// spend_logs from the spend objects, so a DuckDB file rebuilt from the store gets its bills back.
//
// - writeUnstoredBillDays: the days an import changed (bill_unstored_days) are written to the
//   store from billed_costs; each is then recorded with its ETag in bill_objects. An import does
//   this right after it commits, and every reconcile does it for whatever that missed.
// - loadStoredBillDays: every bill object whose ETag bill_objects does not hold (a rebuilt file,
//   or a bill imported through another DuckDB file) is read and imported with the import's rule
//   (a day replaced only when its lines differ). Days still waiting to be written are skipped:
//   their lines here are newer. An object that is not a bill day is logged and skipped, and tried
//   again on the next run; it never stops the others.
import { selectRows } from '../../src/db/rows.ts';
import { sql } from '../../src/db/sql.ts';
import { inTransaction } from '../../src/db/transaction.ts';
import type { BillLine } from '../../src/trueup/bill.ts';
import { BILLS_PREFIX, billDayOfKey, billDayText, billObjectKey, parseBillDay, type StoredBillLine } from '../../src/trueup/stored.ts';
import type { JobContext } from '../run/context.ts';
import { mapLimit } from './download.ts';
import { importBillLines } from './trueup-import.ts';

/** Store requests in flight at once. */
const PARALLEL = 8;

export interface BillStoreResult {
  /** Days written to the store. */
  written: number;
  /** Bill objects read from the store whose lines were imported. */
  loaded: number;
  /** Bill lines those objects changed in billed_costs. */
  lines: number;
  /** Objects skipped because they are not bill days (each logged). */
  invalid: number;
}

async function recordObject(ctx: JobContext, key: string, etag: string): Promise<void> {
  await ctx.db.conn.run(sql('trueup/record_bill_object'), { object_key: key, etag, synced_at: ctx.now().toISOString() });
}

/** Writes every day of bill_unstored_days to the store; returns how many. Throws on a store error. */
export async function writeUnstoredBillDays(ctx: JobContext): Promise<number> {
  const { conn } = ctx.db;
  const days = new Map<string, { provider: string; day: string; lines: StoredBillLine[] }>();
  for (const d of await selectRows(conn, sql('trueup/select_unstored_bill_days'))) {
    days.set(billObjectKey(String(d.provider), String(d.day)), { provider: String(d.provider), day: String(d.day), lines: [] });
  }
  if (days.size === 0) return 0;
  for (const r of await selectRows(conn, sql('trueup/select_unstored_bill_lines'))) {
    days.get(billObjectKey(String(r.provider), String(r.day)))?.lines.push({
      line_key: String(r.line_key),
      model: r.model === null ? null : String(r.model),
      description: r.description === null ? null : String(r.description),
      amount_usd: String(r.amount_usd),
      source: String(r.source),
      source_file: r.source_file === null ? null : String(r.source_file),
      source_line: r.source_line === null ? null : Number(r.source_line),
      raw: r.raw === null ? null : String(r.raw),
    });
  }
  // Objects are written in parallel and each is recorded as soon as it is written (the records
  // one after another on the connection), so a store error part-way leaves only the days not yet
  // written pending. Every task settles before this returns: nothing touches the connection after.
  let written = 0;
  let failure: unknown = null;
  let recording: Promise<void> = Promise.resolve();
  const record = (key: string, provider: string, day: string, etag: string): Promise<void> => {
    const done = recording.then(() =>
      inTransaction(conn, async () => {
        await recordObject(ctx, key, etag);
        await conn.run(sql('trueup/delete_unstored_bill_day'), { provider, day });
        written += 1;
      }),
    );
    recording = done.catch(() => undefined);
    return done;
  };
  await mapLimit([...days], PARALLEL, async ([key, { provider, day, lines }]) => {
    if (failure !== null) return;
    try {
      const text = billDayText(provider, day, lines);
      // The same bytes already there (a re-import, or a re-run after a crash between the write
      // and the record) are not written again: the object keeps its ETag.
      const current = await ctx.store.get(key);
      const same = current !== null && 'body' in current && current.body.toString('utf8') === text;
      const etag = same ? current.etag : (await ctx.store.put(key, text, { contentType: 'application/json' })).etag;
      await record(key, provider, day, etag);
    } catch (err) {
      failure ??= err;
    }
  });
  await recording;
  if (failure !== null) throw failure;
  if (written > 0) ctx.log.info({ days: written }, 'bill days written to the store');
  return written;
}

/** Imports the bill objects whose ETag is not the one billed_costs was synced with. */
export async function loadStoredBillDays(ctx: JobContext): Promise<Omit<BillStoreResult, 'written'>> {
  const { conn } = ctx.db;
  const synced = new Map((await selectRows(conn, sql('trueup/select_bill_objects'))).map((r) => [String(r.object_key), String(r.etag)]));
  const unstored = new Set((await selectRows(conn, sql('trueup/select_unstored_bill_days'))).map((r) => billObjectKey(String(r.provider), String(r.day))));
  const todo: { key: string; etag: string }[] = [];
  for await (const o of ctx.store.list(BILLS_PREFIX)) {
    if (billDayOfKey(o.key) === null) continue; // not ours (a README, a folder marker)
    if (synced.get(o.key) !== o.etag && !unstored.has(o.key)) todo.push({ key: o.key, etag: o.etag });
  }
  if (todo.length === 0) return { loaded: 0, lines: 0, invalid: 0 };
  let invalid = 0;
  const read = await mapLimit(todo, PARALLEL, async ({ key }) => {
    const got = await ctx.store.get(key);
    if (got === null || !('body' in got)) return null; // deleted since the listing: nothing to load
    try {
      return { key, etag: got.etag, lines: parseBillDay(key, got.body.toString('utf8')) };
    } catch (err) {
      invalid += 1;
      ctx.log.error({ key, err: (err as Error).message }, 'a bill object in the store is not a bill day; skipped (fix or remove it)');
      return null;
    }
  });
  const good = read.filter((r): r is { key: string; etag: string; lines: BillLine[] } => r !== null);
  if (good.length === 0) return { loaded: 0, lines: 0, invalid };
  const imported = await importBillLines(ctx, good.flatMap((r) => r.lines), { fromStore: true });
  for (const r of good) await recordObject(ctx, r.key, r.etag);
  ctx.log.info({ objects: good.length, lines: imported.lines }, 'bill days loaded from the store');
  return { loaded: good.length, lines: imported.lines, invalid };
}

/** The reconcile's bills step: write what an import could not, then load what the store has. */
export async function syncBills(ctx: JobContext): Promise<BillStoreResult> {
  const written = await writeUnstoredBillDays(ctx);
  return { written, ...(await loadStoredBillDays(ctx)) };
}

/** After an import: its days go to the store now; a store error leaves them to the next reconcile. */
export async function storeImportedBillDays(ctx: JobContext): Promise<number> {
  try {
    return await writeUnstoredBillDays(ctx);
  } catch (err) {
    const pending = (await selectRows(ctx.db.conn, sql('trueup/select_unstored_bill_days'))).length;
    ctx.log.warn({ err: (err as Error).message, days: pending }, 'the bill is imported but could not be written to the store; the next reconcile writes it');
    return 0;
  }
}
