// Transactions on a connection. inTransaction commits when `work` resolves and rolls back when
// it throws; begin/commit/rollback are for flows that must retry inside one (jobs/ingest.ts).
import type { DuckDBConnection } from '@duckdb/node-api';
import { sql } from './sql.ts';

export async function begin(conn: DuckDBConnection): Promise<void> {
  await conn.run(sql('db/begin_transaction'));
}

export async function commit(conn: DuckDBConnection): Promise<void> {
  await conn.run(sql('db/commit_transaction'));
}

/** Never throws: the error that led here matters more, and DuckDB rolls back on close anyway. */
export async function rollback(conn: DuckDBConnection): Promise<void> {
  try {
    await conn.run(sql('db/rollback_transaction'));
  } catch {
    // no transaction open, or the connection is gone
  }
}

export async function inTransaction<T>(conn: DuckDBConnection, work: () => Promise<T>): Promise<T> {
  await begin(conn);
  let result: T;
  try {
    result = await work();
  } catch (err) {
    await rollback(conn);
    throw err;
  }
  await commit(conn);
  return result;
}
