// Parsing downloaded objects into spend_logs, losing no line.
//
// Fast path: one INSERT reads the batch's gzip objects with the explicit column list, strictly,
// straight into spend_logs (no staging copy). The first malformed line, wrongly typed field or
// unusable record anywhere fails the statement, which names the file.
// Salvage (slow path) for such a file: it is read line by line (jobs/lines.ts); each candidate
// line is re-wrapped with its line number and parsed by the same column types into a temp table
// (read_spend_wrapped), lines DuckDB still refuses are found by bisection, and records missing
// required fields are found by the same check as the fast path. The good lines are written to a
// clean gzip file that then takes the fast path; the others go to staged_rejects with their
// number, raw text and reason. Every line ends up in exactly one of the two.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { DuckDBConnection } from '@duckdb/node-api';
import { appendTempRows } from '../../src/db/append.ts';
import { quoteLiteral, quoteLiteralList, quoteLiteralMap, sql } from '../../src/db/sql.ts';
import { readObjectLines, type Line, type RejectedLine } from './lines.ts';

/** A local file to load and the object key its rows are stored under. */
export interface SourceFile {
  path: string;
  key: string;
}

export interface DownloadedObject extends SourceFile {
  etag: string;
  size: number;
}

const NOT_GZIP = /^IO Error: Input is not a GZIP stream: (\S+)/;

/** Whether DuckDB refused the data itself (as opposed to failing: I/O, memory, a bug). */
export function isDataError(err: unknown): boolean {
  return err instanceof Error && (/^(Invalid Input|Conversion) Error/.test(err.message) || NOT_GZIP.test(err.message));
}

/** DuckDB names the file a strict read failed on; null when the message does not say. */
export function failedFile(err: unknown): string | null {
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

/** Fresh scratch tables for a batch, with each downloaded file mapped to its object key (for the rejected lines). */
export async function prepareBatch(conn: DuckDBConnection, files: readonly DownloadedObject[]): Promise<void> {
  await conn.run(sql('ingest/create_staging'));
  await appendTempRows(conn, 'batch_files', files.map((f) => [f.path, f.key]));
}

/** The fast path: throws DuckDB's error (naming the file) if any line of any file is refused. */
export async function insertObjects(conn: DuckDBConnection, files: readonly SourceFile[], tz: string, loadedAt: string): Promise<number> {
  if (files.length === 0) return 0;
  const text = sql('ingest/insert_spend_objects', {
    files: quoteLiteralList(files.map((f) => f.path)),
    source_keys: quoteLiteralMap(files.map((f) => [f.path, f.key])),
  });
  const result = await conn.run(text, { tz, loaded_at: loadedAt });
  return result.rowsChanged;
}

class WrappedLoader {
  #seq = 0;
  constructor(
    private readonly conn: DuckDBConnection,
    private readonly tmpPrefix: string,
  ) {}

  /** Loads lines into slow_rows; returns the ones DuckDB refuses, each with its reason. */
  async load(lines: readonly Line[]): Promise<RejectedLine[]> {
    if (lines.length === 0) return [];
    const file = `${this.tmpPrefix}.wrapped-${this.#seq++}.ndjson`;
    await writeFile(file, lines.map((l) => `{"n":${l.line},"r":${l.raw}}\n`).join(''));
    try {
      await this.conn.run(sql('ingest/stage_wrapped_lines', { file: quoteLiteral(file) }));
      return [];
    } catch (err) {
      if (!isDataError(err)) throw err;
      if (lines.length === 1) return [{ ...lines[0]!, reason: parseFailureReason(err) }];
      const mid = Math.ceil(lines.length / 2);
      return [...(await this.load(lines.slice(0, mid))), ...(await this.load(lines.slice(mid)))];
    }
  }
}

/**
 * The slow path for one object: rejects go to staged_rejects, the good lines to a clean gzip
 * file to load under the same object key. Returns the clean file and the number of rejects.
 */
export async function salvage(conn: DuckDBConnection, file: DownloadedObject, workDir: string): Promise<{ cleanPath: string | null; rejected: number }> {
  const tmpPrefix = join(workDir, `salvage-${file.path.replace(/^.*\//, '')}`);
  const { candidates, rejects } = await readObjectLines(file.path);
  await conn.run(sql('ingest/clear_slow_rows'));
  const refused = await new WrappedLoader(conn, tmpPrefix).load(candidates);
  const byNumber = new Map(candidates.map((l) => [l.line, l.raw]));
  const problems = await conn.runAndReadAll(sql('ingest/select_slow_problems'));
  const unusable: RejectedLine[] = problems.getRowsJson().map(([n, reason]) => {
    const line = Number(n);
    return { line, raw: byNumber.get(line) ?? '', reason: String(reason) };
  });
  await conn.run(sql('ingest/clear_slow_rows'));

  const all = [...rejects, ...refused, ...unusable].sort((a, b) => a.line - b.line);
  const bad = new Set(all.map((r) => r.line));
  const clean = candidates.filter((l) => !bad.has(l.line));
  await appendTempRows(conn, 'staged_rejects', all.map((r) => [file.path, r.line, r.raw, r.reason]));
  if (clean.length === 0) return { cleanPath: null, rejected: all.length };
  const cleanPath = `${tmpPrefix}.clean.ndjson.gz`;
  await writeFile(cleanPath, gzipSync(clean.map((l) => `${l.raw}\n`).join('')));
  return { cleanPath, rejected: all.length };
}
