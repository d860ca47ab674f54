// export parquet: spend_logs in the store as Hive-partitioned Parquet, one directory per day,
//   parquet/spend_logs/dt=YYYY-MM-DD/part-0.parquet
// for engines that read object stores directly (Athena, Trino, Spark: docs/scale.md). Only the
// days whose rows changed since their last export are written again (a fingerprint per day in
// parquet_exports), so the Parquet copy equals the DuckDB file after every run. Objects have
// fixed names and are overwritten in place (a PUT replaces an object atomically), new objects
// first, stale ones deleted after, the bookkeeping last: a crash anywhere is repaired by the
// next run, which finds the day's fingerprint still different.
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { appendTempRows } from '../../src/db/append.ts';
import { count, selectRows } from '../../src/db/rows.ts';
import { quoteLiteral, sql } from '../../src/db/sql.ts';
import { inTransaction } from '../../src/db/transaction.ts';
import type { ObjectStore } from '../../src/store/types.ts';
import type { JobContext } from '../run/context.ts';

export const PARQUET_PREFIX = 'parquet/spend_logs/';

export interface ParquetExportResult {
  /** Days written (again). */
  days: number;
  rows: number;
  files: number;
  /** Days whose objects were removed (no rows left: the timezone changed). */
  removed: number;
}

export function dayPrefix(day: string): string {
  return `${PARQUET_PREFIX}dt=${day}/`;
}

/** Deletes every object under `prefix` whose key is not in `keep`. */
async function deleteStale(store: ObjectStore, prefix: string, keep: ReadonlySet<string>): Promise<void> {
  const stale: string[] = [];
  for await (const o of store.list(prefix)) if (!keep.has(o.key)) stale.push(o.key);
  for (const key of stale) await store.delete(key);
}

export async function runParquetExport(ctx: JobContext, options: { full?: boolean } = {}): Promise<ParquetExportResult> {
  const { conn } = ctx.db;
  const dir = join(ctx.settings.workDir, 'parquet');
  try {
    await conn.run(sql('parquet/stage_day_fingerprints'));
    await conn.run(sql('parquet/stage_changed_days'), { full: options.full ?? false });
    const changed = await selectRows(conn, sql('parquet/select_changed_days'));
    const gone = (await selectRows(conn, sql('parquet/select_gone_days'))).map((r) => String(r.day));
    if (changed.length === 0 && gone.length === 0) return { days: 0, rows: 0, files: 0, removed: 0 };
    ctx.progress.phase('parquet', changed.length + gone.length);

    const files = new Map<string, string[]>();
    let rows = 0;
    if (changed.length > 0) {
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      await conn.run(sql('parquet/copy_changed_days', { dir: quoteLiteral(dir) }));
      for (const r of changed) {
        const day = String(r.day);
        rows += count(r.rows);
        const local = join(dir, `dt=${day}`);
        files.set(day, (await readdir(local)).filter((f) => f.endsWith('.parquet')).sort());
      }
    }
    for (const [day, names] of files) {
      if (ctx.signal?.aborted) break;
      const keys = new Set<string>();
      for (const name of names) {
        const key = `${dayPrefix(day)}${name}`;
        await ctx.store.putFile(key, join(dir, `dt=${day}`, name), { contentType: 'application/vnd.apache.parquet' });
        keys.add(key);
      }
      await deleteStale(ctx.store, dayPrefix(day), keys);
      ctx.progress.advance(1, day);
    }
    for (const day of gone) {
      await deleteStale(ctx.store, dayPrefix(day), new Set());
      ctx.progress.advance(1, day);
    }
    // Stopped between days: the days not uploaded keep their old fingerprint and go next run.
    if (ctx.signal?.aborted) return { days: 0, rows: 0, files: 0, removed: 0 };
    await conn.run(sql('parquet/create_parquet_files'));
    await appendTempRows(conn, 'parquet_files', [...files].map(([day, names]) => [day, names.length]));
    await inTransaction(conn, async () => {
      await conn.run(sql('parquet/delete_exported_days'));
      await conn.run(sql('parquet/insert_exported_days'), { exported_at: ctx.now().toISOString(), run_id: ctx.runId });
    });
    ctx.progress.end();
    const fileCount = [...files.values()].reduce((s, n) => s + n.length, 0);
    ctx.log.info({ days: changed.length, rows, files: fileCount, removed: gone.length }, 'spend_logs exported as Parquet');
    return { days: changed.length, rows, files: fileCount, removed: gone.length };
  } finally {
    await conn.run(sql('parquet/drop_parquet_scratch'));
    await rm(dir, { recursive: true, force: true });
  }
}
