// Opening the DuckDB file. DuckDB takes an OS lock on the file, so a second process that tries
// to write it fails instead of corrupting it; we turn that failure into a DatabaseLockedError
// (after waiting up to lockWaitMs). The OS lock does not guard against a second open inside
// the same process, which DuckDB would allow and which could corrupt the file, so this module
// also keeps its own registry of files open here.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { DatabaseLockedError, DatabaseMissingError } from '../errors.ts';
import { assertReadable } from './migrate.ts';
import { sql } from './sql.ts';

export interface Db {
  readonly path: string;
  readonly conn: DuckDBConnection;
  readonly readOnly: boolean;
  /**
   * `conn` and the extra connections asked for at open (OpenReaderOptions.connections), each set
   * up like `conn`: for readers that run queries side by side (`tagspend serve`).
   */
  readonly connections: readonly DuckDBConnection[];
  /** Closes the connections and the instance; safe to call twice. */
  close(): void;
}

export interface OpenWriterOptions {
  /** How long to wait for another holder of the file; 0 fails at once. */
  lockWaitMs?: number;
  memoryLimit?: string;
  threads?: number;
  /** Monotonic milliseconds, for the wait deadline. */
  now?: () => number;
  /** Called once when the file is held elsewhere and this open starts waiting for it. */
  onWait?: (holder: string) => void;
}

const LOCK_POLL_MS = 200;
const openHere = new Set<string>();

function isLockConflict(err: unknown): boolean {
  return err instanceof Error && /Could not set lock on file|Conflicting lock/i.test(err.message);
}

function holderOf(err: unknown): string {
  const m = err instanceof Error ? /\(PID (\d+)\)/.exec(err.message) : null;
  return m ? `process ${m[1]}` : 'another process';
}

function wrap(path: string, instance: DuckDBInstance, conn: DuckDBConnection, readOnly: boolean, extra: DuckDBConnection[] = []): Db {
  let closed = false;
  return {
    path,
    conn,
    readOnly,
    connections: [conn, ...extra],
    close() {
      if (closed) return;
      closed = true;
      try {
        for (const c of extra) c.closeSync();
        conn.closeSync();
      } finally {
        instance.closeSync();
        if (!readOnly) openHere.delete(path);
      }
    },
  };
}

/**
 * Opens (creating if needed) the DuckDB file for writing, as the one writer. Sessions use UTC
 * so TIMESTAMPTZ values become UTC TIMESTAMPs.
 */
export async function openWriter(file: string, options: OpenWriterOptions = {}): Promise<Db> {
  const path = resolve(file);
  const now = options.now ?? (() => performance.now());
  const deadline = now() + (options.lockWaitMs ?? 0);
  mkdirSync(dirname(path), { recursive: true });
  const settings: Record<string, string> = {
    memory_limit: options.memoryLimit ?? '1GB',
    // Loads do not depend on row order; dropping it lets inserts run in parallel.
    preserve_insertion_order: 'false',
  };
  if (options.threads !== undefined) settings.threads = String(options.threads);

  let waited = false;
  for (;;) {
    let lastErr: unknown = null;
    if (!openHere.has(path)) {
      openHere.add(path);
      try {
        const instance = await DuckDBInstance.create(path, settings);
        try {
          const conn = await instance.connect();
          await conn.run(sql('db/configure_session'));
          return wrap(path, instance, conn, false);
        } catch (err) {
          instance.closeSync();
          throw err;
        }
      } catch (err) {
        openHere.delete(path);
        if (!isLockConflict(err)) throw err;
        lastErr = err;
      }
    }
    const holder = lastErr === null ? 'another job in this process' : holderOf(lastErr);
    if (now() >= deadline) {
      throw new DatabaseLockedError(
        `the DuckDB file ${path} is being written by ${holder}` +
          (options.lockWaitMs ? ` (waited ${Math.round(options.lockWaitMs / 1000)} s)` : '') +
          '; only one job runs at a time. Read the snapshot instead, or retry when that job ends.',
        lastErr === null ? {} : { cause: lastErr },
      );
    }
    if (!waited) options.onWait?.(holder);
    waited = true;
    await delay(Math.min(LOCK_POLL_MS, Math.max(1, deadline - now())));
  }
}

export interface OpenReaderOptions {
  /**
   * Let SQL on this connection reach the file system (COPY ... TO, read_csv, glob, ATTACH ...).
   * Off by default: readers run SQL from users (`tagspend query`) and serve requests, and a
   * reader must not read the config (the master key) or write files.
   */
  allowFiles?: boolean;
  /** Connections in all (default 1), made before the configuration is locked. */
  connections?: number;
}

/**
 * Opens a DuckDB file read-only (the published snapshot, usually), sandboxed: no file-system
 * access beyond the file itself, no extension installs or loads, settings locked. Refuses a file
 * newer than this build.
 */
export async function openReader(file: string, options: OpenReaderOptions = {}): Promise<Db> {
  const path = resolve(file);
  if (!existsSync(path)) throw new DatabaseMissingError(`no DuckDB file at ${path}`);
  const settings: Record<string, string> = { access_mode: 'READ_ONLY', autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' };
  if (!options.allowFiles) settings.enable_external_access = 'false';
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(path, settings);
  } catch (err) {
    if (isLockConflict(err)) {
      throw new DatabaseLockedError(
        `the DuckDB file ${path} is being written by ${holderOf(err)}; query the snapshot instead`,
        { cause: err },
      );
    }
    throw err;
  }
  try {
    const conn = await instance.connect();
    await conn.run(sql('db/configure_session'));
    await assertReadable(conn, path);
    const extra: DuckDBConnection[] = [];
    for (let i = 1; i < (options.connections ?? 1); i++) {
      const c = await instance.connect();
      extra.push(c);
      await c.run(sql('db/configure_session'));
    }
    if (!options.allowFiles) await conn.run(sql('db/lock_configuration'));
    return wrap(path, instance, conn, true, extra);
  } catch (err) {
    instance.closeSync();
    throw err;
  }
}
