// Parsing a batch of downloaded objects into the `staged` temp table, losing no line.
//
// Fast path: DuckDB reads the gzip objects directly with the explicit column list, in strict
// mode, so the first malformed line anywhere fails the statement and nothing is half-loaded.
// An object that fails, or that holds a parsed row which is not a usable record, takes the
// slow path: it is read line by line (jobs/lines.ts), each candidate line is re-wrapped with
// its line number and parsed by the same column types (read_spend_wrapped), and lines DuckDB
// still refuses are found by bisection. Every line of an object ends up either in `staged` or
// in `staged_rejects` with its number, raw text and reason.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteLiteral, quoteLiteralList, sql } from '../src/db/sql.ts';
import type { Logger } from '../src/log.ts';
import { readObjectLines, type Line, type RejectedLine } from './lines.ts';

export interface DownloadedObject {
  key: string;
  etag: string;
  size: number;
  /** Local copy of the object. */
  path: string;
}

export interface StagedCounts {
  /** Usable records parsed from the object (before deduplication). */
  rows: number;
  rejected: number;
}

/** Creates the session's readers and empties the staging tables for a new batch. */
export async function resetStaging(conn: DuckDBConnection, files: readonly DownloadedObject[]): Promise<void> {
  await conn.run(sql('create_staging'));
  const appender = await conn.createAppender('batch_files', 'main', 'temp');
  try {
    for (const f of files) {
      appender.appendVarchar(f.path);
      appender.appendVarchar(f.key);
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

const NOT_GZIP = /^IO Error: Input is not a GZIP stream: (\S+)/;

/** Whether DuckDB refused the data itself (as opposed to failing: I/O, memory, a bug). */
export function isDataError(err: unknown): boolean {
  return err instanceof Error && (/^(Invalid Input|Conversion) Error/.test(err.message) || NOT_GZIP.test(err.message));
}

/** DuckDB names the file a strict read failed on; null when the message does not say. */
function failedFile(err: unknown): string | null {
  if (!(err instanceof Error)) return null;
  const m = /in file "([^"]+)"/.exec(err.message) ?? NOT_GZIP.exec(err.message);
  return m ? m[1]! : null;
}

/** A DuckDB parse error without the temp-file path and line prefix: the reason users read. */
export function parseFailureReason(err: unknown): string {
  const msg = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
  const detail = msg.replace(/^.*? in line \d+: /, '').replace(/^[A-Za-z ]+ Error: /, '').trim();
  return `does not fit the record schema: ${detail}`;
}

/** Parses the batch; returns the objects whose lines must go through the slow path. */
async function fastPath(conn: DuckDBConnection, files: readonly DownloadedObject[], log: Logger): Promise<Set<string>> {
  const slow = new Set<string>();
  let pending = files.map((f) => f.path);
  while (pending.length > 0) {
    try {
      await conn.run(sql('stage_spend_objects', { files: quoteLiteralList(pending) }));
      break;
    } catch (err) {
      if (!isDataError(err)) throw err;
      const bad = failedFile(err);
      if (bad !== null && pending.includes(bad)) {
        log.debug({ file: bad, err: (err as Error).message }, 'object needs the line-by-line path');
        slow.add(bad);
        pending = pending.filter((p) => p !== bad);
        continue;
      }
      // The message names no file we know: find the culprits one object at a time.
      for (const p of pending) {
        try {
          await conn.run(sql('stage_spend_objects', { files: quoteLiteralList([p]) }));
        } catch (e) {
          if (!isDataError(e)) throw e;
          slow.add(p);
        }
      }
      break;
    }
  }
  const problems = await conn.runAndReadAll(sql('select_staged_problem_files'));
  for (const [filename] of problems.getRowsJson()) {
    const path = String(filename);
    slow.add(path);
    await conn.run(sql('delete_staged_file'), { filename: path });
  }
  return slow;
}

class WrappedLoader {
  #seq = 0;
  constructor(
    private readonly conn: DuckDBConnection,
    private readonly tmpDir: string,
  ) {}

  /** Loads lines into slow_rows; returns the ones DuckDB refuses, each with its reason. */
  async load(lines: readonly Line[]): Promise<RejectedLine[]> {
    if (lines.length === 0) return [];
    const file = join(this.tmpDir, `wrapped-${this.#seq++}.ndjson`);
    await writeFile(file, lines.map((l) => `{"n":${l.line},"r":${l.raw}}\n`).join(''));
    try {
      await this.conn.run(sql('stage_wrapped_lines', { file: quoteLiteral(file) }));
      return [];
    } catch (err) {
      if (!isDataError(err)) throw err;
      if (lines.length === 1) return [{ ...lines[0]!, reason: parseFailureReason(err) }];
      const mid = Math.ceil(lines.length / 2);
      return [...(await this.load(lines.slice(0, mid))), ...(await this.load(lines.slice(mid)))];
    }
  }
}

async function slowPath(conn: DuckDBConnection, file: DownloadedObject, tmpDir: string): Promise<RejectedLine[]> {
  const { candidates, rejects } = await readObjectLines(file.path);
  const byNumber = new Map(candidates.map((l) => [l.line, l.raw]));
  const refused = await new WrappedLoader(conn, tmpDir).load(candidates);
  const problems = await conn.runAndReadAll(sql('select_slow_problems'));
  const unusable: RejectedLine[] = problems.getRowsJson().map(([n, reason]) => {
    const line = Number(n);
    return { line, raw: byNumber.get(line) ?? '', reason: String(reason) };
  });
  await conn.run(sql('move_slow_rows'), { filename: file.path });
  await conn.run(sql('clear_slow_rows'));
  return [...rejects, ...refused, ...unusable].sort((a, b) => a.line - b.line);
}

async function appendRejects(conn: DuckDBConnection, path: string, rejects: readonly RejectedLine[]): Promise<void> {
  if (rejects.length === 0) return;
  const appender = await conn.createAppender('staged_rejects', 'main', 'temp');
  try {
    for (const r of rejects) {
      appender.appendVarchar(path);
      appender.appendBigInt(BigInt(r.line));
      appender.appendVarchar(r.raw);
      appender.appendVarchar(r.reason);
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

/**
 * Fills `staged` and `staged_rejects` from the batch's objects. Returns per-object counts,
 * keyed by object key.
 */
export async function stageBatch(
  conn: DuckDBConnection,
  files: readonly DownloadedObject[],
  tmpDir: string,
  log: Logger,
): Promise<Map<string, StagedCounts>> {
  await resetStaging(conn, files);
  const slow = await fastPath(conn, files, log);
  const rejected = new Map<string, number>();
  for (const f of files) {
    if (!slow.has(f.path)) continue;
    const rejects = await slowPath(conn, f, tmpDir);
    await appendRejects(conn, f.path, rejects);
    rejected.set(f.path, rejects.length);
    if (rejects.length > 0) log.warn({ key: f.key, rejected: rejects.length }, 'object has rejected lines');
  }
  const counts = await conn.runAndReadAll(sql('count_staged_rows'));
  const rows = new Map(counts.getRowsJson().map(([filename, n]) => [String(filename), Number(n)]));
  return new Map(
    files.map((f) => [f.key, { rows: rows.get(f.path) ?? 0, rejected: rejected.get(f.path) ?? 0 }]),
  );
}
