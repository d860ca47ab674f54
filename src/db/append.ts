// Bulk rows into a TEMP table through DuckDB's appender (much faster than one INSERT per row).
// Values go in as VARCHAR or BIGINT; the SQL that reads the table casts them (DECIMAL money as
// exact text, never a float).
import type { DuckDBConnection } from '@duckdb/node-api';

export type AppendValue = string | bigint | number | null;

export async function appendTempRows(conn: DuckDBConnection, table: string, rows: Iterable<readonly AppendValue[]>): Promise<void> {
  const appender = await conn.createAppender(table, 'main', 'temp');
  try {
    for (const row of rows) {
      for (const v of row) {
        if (v === null) appender.appendNull();
        else if (typeof v === 'bigint') appender.appendBigInt(v);
        else if (typeof v === 'number') appender.appendBigInt(BigInt(v));
        else appender.appendVarchar(v);
      }
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}
