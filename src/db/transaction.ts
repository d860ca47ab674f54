// One transaction around a unit of work: committed when `work` resolves, rolled back when it throws.
import type { DuckDBConnection } from '@duckdb/node-api';
import { sql } from './sql.ts';

export async function inTransaction<T>(conn: DuckDBConnection, work: () => Promise<T>): Promise<T> {
  await conn.run(sql('begin_transaction'));
  let result: T;
  try {
    result = await work();
  } catch (err) {
    try {
      await conn.run(sql('rollback_transaction'));
    } catch {
      // The original error matters more; DuckDB rolls back an unfinished transaction on close anyway.
    }
    throw err;
  }
  await conn.run(sql('commit_transaction'));
  return result;
}
