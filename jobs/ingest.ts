// ingest: new spend objects from the store into spend_logs.
//
// Objects are listed in key order (paged by the store), those the manifest already has are
// skipped, and the rest are loaded in batches: download (bounded parallelism, the next batch
// downloading while this one loads), parse into temp tables (jobs/load.ts), drop request ids
// already stored, then ONE transaction writes the rows, the rejected lines, the manifest
// entries and the days to re-roll. A crash anywhere before COMMIT leaves the file as it was,
// and the re-run loads the same objects in the same order, so it ends with the same rows.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from '../src/db/sql.ts';
import { inTransaction } from '../src/db/transaction.ts';
import type { ObjectInfo } from '../src/store/types.ts';
import type { JobContext } from './context.ts';
import { downloadBatch } from './download.ts';
import { stageBatch, type DownloadedObject } from './load.ts';

export const SPEND_PREFIX = 'spend/';
const OBJECT_SUFFIX = '.ndjson.gz';
const DAY_MS = 86_400_000;

export interface IngestHooks {
  /** After a batch is downloaded, before anything is parsed. */
  afterDownload?(batch: readonly DownloadedObject[]): void | Promise<void>;
  /** Inside the batch transaction, after every write, before COMMIT. */
  beforeCommit?(batch: readonly DownloadedObject[]): void | Promise<void>;
}

export interface IngestOptions {
  /** List every object instead of only the recent partitions. */
  full?: boolean;
  hooks?: IngestHooks;
}

export interface IngestResult {
  objects: number;
  rows: number;
  duplicates: number;
  rejected: number;
  batches: number;
}

/** Incremental runs list from the partition `lookbackDays` before now (partitions are UTC dates). */
export function listingStart(now: Date, lookbackDays: number): string {
  const day = new Date(now.getTime() - lookbackDays * DAY_MS).toISOString().slice(0, 10);
  return `${SPEND_PREFIX}dt=${day}`;
}

/** Groups objects (kept in key order) into batches bounded by count and compressed bytes. */
export function planBatches(objects: readonly ObjectInfo[], maxObjects: number, maxBytes: number): ObjectInfo[][] {
  const batches: ObjectInfo[][] = [];
  let current: ObjectInfo[] = [];
  let bytes = 0;
  for (const o of objects) {
    if (current.length > 0 && (current.length >= maxObjects || bytes + o.size > maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(o);
    bytes += o.size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Objects under spend/ that the manifest does not have yet, in key order. */
export async function pendingObjects(ctx: JobContext, full: boolean): Promise<ObjectInfo[]> {
  const after = full ? '' : listingStart(ctx.now(), ctx.settings.lookbackDays);
  const reader = await ctx.db.conn.runAndReadAll(sql('select_ingested_keys'), { after });
  const loaded = new Set(reader.getRowsJson().map(([key]) => String(key)));
  const pending: ObjectInfo[] = [];
  const listing = ctx.store.list(SPEND_PREFIX, after === '' ? {} : { startAfter: after });
  for await (const info of listing) {
    if (info.key.endsWith(OBJECT_SUFFIX) && !loaded.has(info.key)) pending.push(info);
  }
  return pending;
}

async function commitBatch(ctx: JobContext, files: readonly DownloadedObject[], hooks: IngestHooks): Promise<IngestResult> {
  const { conn } = ctx.db;
  const staged = await stageBatch(conn, files, join(ctx.settings.workDir, `run-${ctx.runId}`), ctx.log);
  await conn.run(sql('delete_staged_duplicates'));
  const after = await conn.runAndReadAll(sql('count_staged_rows'));
  const stored = new Map(after.getRowsJson().map(([filename, n]) => [String(filename), Number(n)]));

  const result: IngestResult = { objects: files.length, rows: 0, duplicates: 0, rejected: 0, batches: 1 };
  const at = ctx.now().toISOString();
  await inTransaction(conn, async () => {
    await conn.run(sql('insert_spend_logs'), { tz: ctx.settings.timezone, loaded_at: at });
    await conn.run(sql('insert_staged_rejects'), { rejected_at: at, run_id: ctx.runId });
    await conn.run(sql('insert_pending_days_from_staged'), { tz: ctx.settings.timezone });
    for (const f of files) {
      const counts = staged.get(f.key) ?? { rows: 0, rejected: 0 };
      const rows = stored.get(f.path) ?? 0;
      const duplicates = counts.rows - rows;
      result.rows += rows;
      result.duplicates += duplicates;
      result.rejected += counts.rejected;
      await conn.run(sql('insert_ingested_object'), {
        key: f.key,
        etag: f.etag,
        size: f.size,
        rows,
        duplicates,
        rejected: counts.rejected,
        loaded_at: at,
        run_id: ctx.runId,
      });
    }
    await hooks.beforeCommit?.(files);
  });
  return result;
}

export async function runIngest(ctx: JobContext, options: IngestOptions = {}): Promise<IngestResult> {
  const hooks = options.hooks ?? {};
  const total: IngestResult = { objects: 0, rows: 0, duplicates: 0, rejected: 0, batches: 0 };
  const pending = await pendingObjects(ctx, options.full ?? false);
  if (pending.length === 0) return total;

  const { settings } = ctx;
  const batches = planBatches(pending, settings.batchMaxObjects, settings.batchMaxBytes);
  const dir = join(settings.workDir, `run-${ctx.runId}`);
  await mkdir(dir, { recursive: true });
  ctx.progress.phase('ingest', pending.length);
  let seq = 0;
  const fetch = (batch: ObjectInfo[]): Promise<DownloadedObject[]> => {
    const p = downloadBatch(ctx.store, batch, dir, seq, settings.downloadConcurrency);
    seq += batch.length;
    return p;
  };
  let next: Promise<DownloadedObject[]> | null = fetch(batches[0]!);
  try {
    for (let i = 0; i < batches.length; i++) {
      const files: DownloadedObject[] = await next!;
      if (ctx.signal?.aborted) {
        ctx.log.info({ done: i, of: batches.length }, 'stopping between batches');
        break;
      }
      // Download the next batch while this one is parsed and committed.
      next = i + 1 < batches.length ? fetch(batches[i + 1]!) : null;
      await hooks.afterDownload?.(files);
      const r = await commitBatch(ctx, files, hooks);
      total.objects += r.objects;
      total.rows += r.rows;
      total.duplicates += r.duplicates;
      total.rejected += r.rejected;
      total.batches += 1;
      ctx.log.debug({ batch: i + 1, of: batches.length, ...r }, 'batch committed');
      ctx.progress.advance(files.length, `${total.rows} rows, ${total.rejected} rejected`);
      await Promise.all(files.map((f) => rm(f.path, { force: true })));
    }
  } finally {
    // A download still in flight when a batch failed must not become an unhandled rejection.
    await next?.catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    ctx.progress.end();
  }
  return total;
}
