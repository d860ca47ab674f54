// Reading results as plain JSON-safe rows. DuckDB hands BIGINT, HUGEINT and DECIMAL back as
// strings here (exact); callers convert the counts they know to be small with `count`.
import type { DuckDBConnection, DuckDBType, DuckDBValue } from '@duckdb/node-api';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Params = Record<string, DuckDBValue>;

/** Types of parameters DuckDB cannot infer from the value (an empty list, say). */
export type ParamTypes = Record<string, DuckDBType>;

export async function selectRows(conn: DuckDBConnection, text: string, params?: Params, types?: ParamTypes): Promise<Record<string, Json>[]> {
  const reader = await conn.runAndReadAll(text, params, types);
  return reader.getRowObjectsJson() as Record<string, Json>[];
}

export async function selectOne(conn: DuckDBConnection, text: string, params?: Params): Promise<Record<string, Json> | null> {
  return (await selectRows(conn, text, params))[0] ?? null;
}

/** A count or other integer DuckDB returned as a string or number; 0 for NULL. */
export function count(value: Json | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : Number(value);
}
