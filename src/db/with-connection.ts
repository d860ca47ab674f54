// Where a reader's queries run. The read side hands out connections of one snapshot, so the
// independent queries of a page run side by side; the CLI and the jobs have one connection, on
// which the same code runs them one after the other (a DuckDB connection runs one query at a
// time, and two at once from Node can crash it).
import type { DuckDBConnection } from '@duckdb/node-api';

/** Runs `fn` on a connection and gives it back; calls made together may run side by side. */
export type WithConnection = <T>(fn: (conn: DuckDBConnection) => Promise<T>) => Promise<T>;

const queues = new WeakMap<DuckDBConnection, WithConnection>();

/** Queries on one connection, one at a time, in the order asked (one queue per connection). */
export function oneConnection(conn: DuckDBConnection): WithConnection {
  let queue = queues.get(conn);
  if (!queue) {
    let tail: Promise<unknown> = Promise.resolve();
    queue = <T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> => {
      const run = tail.then(() => fn(conn));
      tail = run.catch(() => undefined);
      return run;
    };
    queues.set(conn, queue);
  }
  return queue;
}

/** A connection or a way to get one, as the report builders accept them. */
export function withConnection(db: DuckDBConnection | WithConnection): WithConnection {
  return typeof db === 'function' ? db : oneConnection(db);
}
