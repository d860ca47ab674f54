// SQL a user typed (`tagspend query`): the one place statements do not come from sql/. It runs
// on a read-only connection; DuckDB errors (syntax, missing table, attempted writes) become a
// QueryError with DuckDB's message.
import type { DuckDBConnection } from '@duckdb/node-api';
import { QueryError } from '../errors.ts';
import type { Json } from './rows.ts';

export interface QueryResult {
  columns: string[];
  rows: Record<string, Json>[];
}

export async function runUserQuery(conn: DuckDBConnection, text: string): Promise<QueryResult> {
  try {
    const reader = await conn.runAndReadAll(text);
    return { columns: reader.columnNames(), rows: reader.getRowObjectsJson() as Record<string, Json>[] };
  } catch (err) {
    throw new QueryError((err as Error).message.split('\n')[0] ?? String(err), { cause: err });
  }
}
