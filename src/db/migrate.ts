// Schema migrations. `sql/migrations/NNNN_name.sql` are applied in order, each once, by the writer
// before a job runs: all pending ones in one transaction, so a file is at one version or the
// next, never between. The applied versions are rows of `schema_migrations` in the file itself.
// A reader refuses a file whose version is above the newest migration this build knows: its
// queries could silently read the wrong columns.
import { readdirSync } from 'node:fs';
import type { DuckDBConnection } from '@duckdb/node-api';
import { SchemaTooNewError } from '../errors.ts';
import { count, selectOne } from './rows.ts';
import { SQL_ROOT, sql } from './sql.ts';
import { inTransaction } from './transaction.ts';

export interface Migration {
  readonly version: number;
  /** `sql()` name, e.g. `migrations/0001_initial`. */
  readonly name: string;
}

const FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

function discover(): Migration[] {
  const found: Migration[] = [];
  for (const file of readdirSync(`${SQL_ROOT}migrations`)) {
    const m = FILE.exec(file);
    if (!m) throw new Error(`sql/migrations/${file}: migration files are named NNNN_name.sql`);
    found.push({ version: Number(m[1]), name: `migrations/${file.slice(0, -4)}` });
  }
  found.sort((a, b) => a.version - b.version);
  found.forEach((mig, i) => {
    if (mig.version !== i + 1) throw new Error(`sql/migrations: expected version ${i + 1}, found ${mig.name} (numbers run 1, 2, 3 ... without gaps)`);
  });
  return found;
}

export const MIGRATIONS: readonly Migration[] = discover();
/** The schema version this build writes and understands. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** The file's schema version: 0 for a new file or one made before migrations existed. */
export async function schemaVersion(conn: DuckDBConnection): Promise<number> {
  const exists = await selectOne(conn, sql('db/select_migrations_table'));
  if (count(exists?.n) === 0) return 0;
  return count((await selectOne(conn, sql('db/select_schema_version')))?.version);
}

function tooNew(version: number, path: string): SchemaTooNewError {
  return new SchemaTooNewError(
    `${path} is at schema version ${version}, newer than this tagspend understands (${SCHEMA_VERSION}); ` +
      'it was written by a newer release: upgrade tagspend to read it',
  );
}

/** Refuses a file newer than this build (readers call it right after opening). */
export async function assertReadable(conn: DuckDBConnection, path: string): Promise<number> {
  const version = await schemaVersion(conn);
  if (version > SCHEMA_VERSION) throw tooNew(version, path);
  return version;
}

/**
 * Applies every pending migration (up to `upTo`, for tests that build an older file) in one
 * transaction; returns the versions applied. Migration 0001 is all `IF NOT EXISTS`, so a file
 * created before migrations existed upgrades in place.
 */
export async function migrate(conn: DuckDBConnection, path: string, now: Date = new Date(), upTo: number = SCHEMA_VERSION): Promise<number[]> {
  const version = await assertReadable(conn, path);
  const pending = MIGRATIONS.filter((m) => m.version > version && m.version <= upTo);
  if (pending.length === 0) return [];
  await inTransaction(conn, async () => {
    await conn.run(sql('db/create_migrations_table'));
    for (const m of pending) {
      await conn.run(sql(m.name));
      await conn.run(sql('db/insert_migration'), { version: m.version, name: m.name.slice('migrations/'.length), applied_at: now.toISOString() });
    }
  });
  return pending.map((m) => m.version);
}

/** Brings the writer's file to the current schema and creates the session's record readers. */
export async function prepareWriter(conn: DuckDBConnection, path: string): Promise<void> {
  await migrate(conn, path);
  await conn.run(sql('ingest/create_record_readers'));
}
