// ingest: new spend objects from the store into spend_logs.
//
// Objects are listed in key order (paged by the store), those the manifest already has are
// skipped, and the rest are loaded in batches: download (bounded parallelism, the next batch
// downloading while this one loads), then ONE transaction parses them into spend_logs
// (jobs/load.ts), drops request ids stored twice, and writes the rejected lines, the manifest
// entries and the days to re-roll. A crash anywhere before COMMIT leaves the file as it was,
// and the re-run loads the same objects in the same order, so it ends with the same rows.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { count, selectOne, type Params } from '../../src/db/rows.ts';
import { sql } from '../../src/db/sql.ts';
import { begin, commit, rollback } from '../../src/db/transaction.ts';
import type { ObjectInfo } from '../../src/store/types.ts';
import type { JobContext } from '../run/context.ts';
import { planBatches } from './batches.ts';
import { downloadBatch } from './download.ts';
import { failedFile, insertObjects, isDataError, prepareBatch, salvage, type DownloadedObject, type SourceFile } from './load.ts';

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

/** Objects under spend/ that the manifest does not have yet, in key order. */
export async function pendingObjects(ctx: JobContext, full: boolean): Promise<ObjectInfo[]> {
  const after = full ? '' : listingStart(ctx.now(), ctx.settings.lookbackDays);
  const reader = await ctx.db.conn.runAndReadAll(sql('ingest/select_ingested_keys'), { after });
  const loaded = new Set(reader.getRowsJson().map(([key]) => String(key)));
  const pending: ObjectInfo[] = [];
  const listing = ctx.store.list(SPEND_PREFIX, after === '' ? {} : { startAfter: after });
  for await (const info of listing) {
    if (info.key.endsWith(OBJECT_SUFFIX) && !loaded.has(info.key)) pending.push(info);
  }
  return pending;
}

/** Probes objects one at a time (each attempt rolled back) for those the fast path refuses. */
async function refusedObjects(ctx: JobContext, candidates: readonly DownloadedObject[], at: string): Promise<DownloadedObject[]> {
  const { conn } = ctx.db;
  const refused: DownloadedObject[] = [];
  for (const f of candidates) {
    await begin(conn);
    try {
      await insertObjects(conn, [f], ctx.settings.timezone, at);
    } catch (err) {
      if (!isDataError(err)) throw err;
      refused.push(f);
    } finally {
      await rollback(conn);
    }
  }
  return refused;
}

interface InsertedBatch {
  /** Rejected lines per object key. */
  rejected: Map<string, number>;
  /** Rows the INSERT added. */
  inserted: number;
  /** spend_logs' highest rowid before the INSERT: the batch's rows are the ones above it. */
  appendedAfter: bigint;
}

/**
 * Inserts the batch's objects inside an open transaction. Each refused object is rolled back,
 * salvaged line by line outside the transaction, and the attempt repeated with its clean lines.
 * Returns with the transaction open.
 */
async function insertBatch(ctx: JobContext, files: readonly DownloadedObject[], at: string): Promise<InsertedBatch> {
  const { conn } = ctx.db;
  const workDir = join(ctx.settings.workDir, `run-${ctx.runId}`);
  const rejected = new Map<string, number>();
  let sources: SourceFile[] = [...files];
  for (;;) {
    await begin(conn);
    try {
      // Bound back as BIGINT (a JS number would make DuckDB compare rowids as DOUBLE).
      const appendedAfter = BigInt(String((await selectOne(conn, sql('ingest/select_last_rowid')))?.last));
      const inserted = await insertObjects(conn, sources, ctx.settings.timezone, at);
      return { rejected, inserted, appendedAfter };
    } catch (err) {
      await rollback(conn);
      if (!isDataError(err)) throw err;
      const named = files.find((f) => f.path === failedFile(err) && !rejected.has(f.key));
      const unsalvaged = files.filter((f) => !rejected.has(f.key));
      const culprits = named ? [named] : await refusedObjects(ctx, unsalvaged, at);
      // A refusal no original object explains (a salvaged file refused again) would loop.
      if (culprits.length === 0) throw err;
      for (const f of culprits) {
        ctx.log.debug({ object_key: f.key, err: (err as Error).message }, 'object needs the line-by-line path');
        const { cleanPath, rejected: n } = await salvage(conn, f, workDir);
        rejected.set(f.key, n);
        sources = sources.filter((s) => s.path !== f.path);
        if (cleanPath !== null) sources.push({ path: cleanPath, key: f.key });
        if (n > 0) ctx.log.warn({ object_key: f.key, rejected: n }, 'object has rejected lines');
      }
    }
  }
}

async function batchCounts(ctx: JobContext, query: 'ingest/count_batch_days' | 'ingest/count_batch_rows', params: Params = {}): Promise<Map<string, number>> {
  const reader = await ctx.db.conn.runAndReadAll(sql(query), params);
  return new Map(reader.getRowsJson().map(([key, n]) => [String(key), Number(n)]));
}

async function loadBatch(ctx: JobContext, files: readonly DownloadedObject[], hooks: IngestHooks): Promise<IngestResult> {
  const { conn } = ctx.db;
  const at = ctx.now().toISOString();
  await prepareBatch(conn, files);
  const { rejected, inserted, appendedAfter } = await insertBatch(ctx, files, at);
  const batch = { appended_after: appendedAfter };
  const result: IngestResult = { objects: files.length, rows: 0, duplicates: 0, rejected: 0, batches: 1 };
  try {
    // One scan of the batch's rows serves the counts and the days; a second only if ids repeated.
    await conn.run(sql('ingest/stage_batch_days'), batch);
    const parsed = await batchCounts(ctx, 'ingest/count_batch_days');
    const found = [...parsed.values()].reduce((sum, n) => sum + n, 0);
    // The rowid rule (sql/ingest/select_last_rowid.sql) is how DuckDB behaves, not a documented
    // promise: should a release change it, the batch fails instead of miscounting.
    if (found !== inserted) {
      throw new Error(`ingest: the batch inserted ${inserted} rows but found ${found} above rowid ${appendedAfter}`);
    }
    await conn.run(sql('ingest/stage_batch_duplicates'), batch);
    const duplicateIds = count((await selectOne(conn, sql('ingest/count_batch_duplicates')))?.n);
    if (duplicateIds > 0) await conn.run(sql('ingest/delete_batch_duplicates'), batch);
    const stored = duplicateIds === 0 ? parsed : await batchCounts(ctx, 'ingest/count_batch_rows', batch);
    await conn.run(sql('ingest/insert_staged_rejects'), { rejected_at: at, run_id: ctx.runId });
    await conn.run(sql('ingest/insert_pending_days_from_batch'));
    for (const f of files) {
      const rows = stored.get(f.key) ?? 0;
      const duplicates = (parsed.get(f.key) ?? 0) - rows;
      const lost = rejected.get(f.key) ?? 0;
      result.rows += rows;
      result.duplicates += duplicates;
      result.rejected += lost;
      await conn.run(sql('ingest/insert_ingested_object'), {
        key: f.key,
        etag: f.etag,
        size: f.size,
        rows,
        duplicates,
        rejected: lost,
        loaded_at: at,
        run_id: ctx.runId,
      });
    }
    await hooks.beforeCommit?.(files);
  } catch (err) {
    await rollback(conn);
    throw err;
  }
  await commit(conn);
  return result;
}

export async function runIngest(ctx: JobContext, options: IngestOptions = {}): Promise<IngestResult> {
  const hooks = options.hooks ?? {};
  const total: IngestResult = { objects: 0, rows: 0, duplicates: 0, rejected: 0, batches: 0 };
  const pending = await pendingObjects(ctx, options.full ?? false);
  if (pending.length === 0) return total;

  const { settings } = ctx;
  const threads = count((await selectOne(ctx.db.conn, sql('ingest/select_threads')))?.threads);
  const batches = planBatches(pending, settings.batchMaxObjects, settings.batchMaxBytes, threads);
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
      const r = await loadBatch(ctx, files, hooks);
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
