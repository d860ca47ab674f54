// The read side's view of the published snapshot. The jobs replace the snapshot by renaming a
// new file over it (src/db/snapshot.ts); a file open here keeps reading its own inode, so a
// query in flight is never disturbed. Each request first checks the path (a stat; concurrent
// checks share one); a new inode is opened read-only (through openReader, with whatever sandbox
// readers get) and new requests go to it, while the old one is closed once its last request
// ends. Nothing here ever opens the jobs' own file, so serving never blocks a job.
//
// A request holds its snapshot, not a connection: each of its queries borrows one of the
// snapshot's connections for just that query, so the independent queries of a page run side by
// side, all on the same snapshot, and a request waiting for a connection never holds another
// (no request can starve the others of connections, and none can deadlock).
import { statSync } from 'node:fs';
import type { DuckDBConnection } from '@duckdb/node-api';
import { openReader, type Db } from '../db/open.ts';
import { selectOne } from '../db/rows.ts';
import { sql } from '../db/sql.ts';
import type { WithConnection } from '../db/with-connection.ts';
import { DatabaseMissingError } from '../errors.ts';
import type { Logger } from '../log.ts';

export interface Lease {
  conn: DuckDBConnection;
  /** Identifies the snapshot file the connection reads (inode and mtime). */
  version: string;
  release(): void;
}

/** What the snapshot says about itself (snapshot_meta): fixed for the file's life. */
export interface SnapshotMeta {
  /** When the jobs published it, epoch ms. */
  publishedMs: number | null;
  /** The newest spend record it holds, epoch ms. */
  newestRecordMs: number | null;
}

/** One published snapshot, held for the length of a request. */
export interface Snapshot {
  readonly version: string;
  readonly meta: SnapshotMeta;
  /** Runs a query on one of this snapshot's connections; queries asked for together run side by side. */
  readonly use: WithConnection;
}

class Generation {
  private readonly idle: DuckDBConnection[] = [];
  private readonly waiting: ((c: DuckDBConnection) => void)[] = [];
  private refs = 0;
  private retired = false;

  constructor(
    readonly db: Db,
    readonly version: string,
    readonly meta: SnapshotMeta,
    conns: readonly DuckDBConnection[],
  ) {
    this.idle.push(...conns);
  }

  /** Keeps the file open until the returned function is called (a request's whole life). */
  hold(): () => void {
    this.refs += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.refs -= 1;
      this.closeIfDone();
    };
  }

  async acquire(): Promise<Lease> {
    const unhold = this.hold();
    const conn = this.idle.pop() ?? (await new Promise<DuckDBConnection>((resolve) => this.waiting.push(resolve)));
    let released = false;
    return {
      conn,
      version: this.version,
      release: () => {
        if (released) return;
        released = true;
        const next = this.waiting.shift();
        if (next) next(conn);
        else this.idle.push(conn);
        unhold();
      },
    };
  }

  readonly use: WithConnection = async (fn) => {
    const lease = await this.acquire();
    try {
      return await fn(lease.conn);
    } finally {
      lease.release();
    }
  };

  retire(): void {
    this.retired = true;
    this.closeIfDone();
  }

  private closeIfDone(): void {
    if (this.retired && this.refs === 0) this.db.close();
  }
}

export interface SnapshotSourceOptions {
  /** Connections per open snapshot: queries that run side by side. */
  connections: number;
  logger: Logger;
}

const msOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export class SnapshotSource {
  private current: Generation | null = null;
  private checking: Promise<Generation> | null = null;
  private closed = false;

  constructor(
    readonly file: string,
    private readonly options: SnapshotSourceOptions,
  ) {}

  /** A connection on the newest published snapshot; release it when the query is done. */
  async lease(): Promise<Lease> {
    return (await this.newest()).acquire();
  }

  /**
   * Runs `fn` with the newest published snapshot, which stays open until `fn` ends (a snapshot
   * published meanwhile is used by later calls).
   */
  async withSnapshot<T>(fn: (snapshot: Snapshot) => Promise<T>): Promise<T> {
    const generation = await this.newest();
    const release = generation.hold();
    try {
      return await fn(generation);
    } finally {
      release();
    }
  }

  private newest(): Promise<Generation> {
    if (this.closed) return Promise.reject(new Error('the snapshot source is closed'));
    this.checking ??= this.refresh().finally(() => (this.checking = null));
    return this.checking;
  }

  private async refresh(): Promise<Generation> {
    // A synchronous stat (a few microseconds on a local file): an asynchronous one would wait
    // in libuv's thread pool behind the DuckDB queries running there, on every request.
    const s = statSync(this.file, { bigint: true, throwIfNoEntry: false });
    if (s === undefined) {
      if (this.current) return this.current; // keep serving what we have
      throw new DatabaseMissingError(`no snapshot yet at ${this.file}: run \`tagspend jobs run reconcile\` first`);
    }
    const version = `${s.ino}-${s.mtimeNs}-${s.size}`;
    if (this.current?.version === version) return this.current;
    const db = await openReader(this.file, { connections: this.options.connections });
    let meta: SnapshotMeta;
    try {
      const row = await selectOne(db.conn, sql('serve/snapshot_meta'));
      meta = { publishedMs: msOrNull(row?.published_ms), newestRecordMs: msOrNull(row?.newest_record_ms) };
    } catch (err) {
      db.close();
      throw err;
    }
    const generation = new Generation(db, version, meta, db.connections);
    if (this.closed) {
      generation.retire();
      throw new Error('the snapshot source is closed');
    }
    const old = this.current;
    this.current = generation;
    old?.retire();
    this.options.logger.info({ file: this.file, version }, old ? 'newer snapshot opened' : 'snapshot opened');
    return generation;
  }

  /** Closes the snapshot once the requests using it end. */
  async close(): Promise<void> {
    this.closed = true;
    await this.checking?.catch(() => undefined);
    this.current?.retire();
    this.current = null;
  }
}
