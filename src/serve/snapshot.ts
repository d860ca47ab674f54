// The read side's view of the published snapshot. The jobs replace the snapshot by renaming a
// new file over it (src/db/snapshot.ts); a file open here keeps reading its own inode, so a
// query in flight is never disturbed. Before each query the path is stat'ed (cheap, and
// concurrent checks share one stat); a new inode is opened read-only (through openReader, with
// whatever sandbox readers get) and new queries go to it, while the old one is closed once its
// last query ends. Nothing here ever opens the jobs' own file, so serving never blocks a job.
import { stat } from 'node:fs/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
import { openReader, type Db } from '../db/open.ts';
import { DatabaseMissingError } from '../errors.ts';
import type { Logger } from '../log.ts';

export interface Lease {
  conn: DuckDBConnection;
  /** Identifies the snapshot file the connection reads (inode and mtime). */
  version: string;
  release(): void;
}

class Generation {
  private readonly idle: DuckDBConnection[] = [];
  private readonly waiting: ((c: DuckDBConnection) => void)[] = [];
  private refs = 0;
  private retired = false;

  constructor(
    readonly db: Db,
    readonly version: string,
    conns: DuckDBConnection[],
  ) {
    this.idle.push(...conns);
  }

  async acquire(): Promise<Lease> {
    this.refs += 1;
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
        this.refs -= 1;
        this.closeIfDone();
      },
    };
  }

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
    if (this.closed) throw new Error('the snapshot source is closed');
    this.checking ??= this.refresh().finally(() => (this.checking = null));
    const generation = await this.checking;
    return generation.acquire();
  }

  /** Runs `fn` on a leased connection and releases it, whatever happens. */
  async withConnection<T>(fn: (conn: DuckDBConnection, version: string) => Promise<T>): Promise<T> {
    const lease = await this.lease();
    try {
      return await fn(lease.conn, lease.version);
    } finally {
      lease.release();
    }
  }

  private async refresh(): Promise<Generation> {
    let version: string;
    try {
      const s = await stat(this.file, { bigint: true });
      version = `${s.ino}-${s.mtimeNs}-${s.size}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      if (this.current) return this.current; // keep serving what we have
      throw new DatabaseMissingError(`no snapshot yet at ${this.file}: run \`tagspend jobs run reconcile\` first`);
    }
    if (this.current?.version === version) return this.current;
    const db = await openReader(this.file, { connections: this.options.connections });
    const generation = new Generation(db, version, [...db.connections]);
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

  /** Closes the snapshot once the queries running on it end. */
  async close(): Promise<void> {
    this.closed = true;
    await this.checking?.catch(() => undefined);
    this.current?.retire();
    this.current = null;
  }
}
