// Creates the tables (idempotent) and the session's record readers on a writer connection.
import type { DuckDBConnection } from '@duckdb/node-api';
import { sql } from './sql.ts';

export async function ensureSchema(conn: DuckDBConnection): Promise<void> {
  await conn.run(sql('create_schema'));
  await conn.run(sql('create_record_readers'));
}
