// Which DuckDB file `tagspend query`, `tagspend report` and the read side open: the published
// snapshot by default (never blocked by a running job), the jobs' own file, or any path.
import { resolve } from 'node:path';
import type { DataPaths } from '../config/paths.ts';
import { openReader, type Db, type OpenReaderOptions } from '../db/open.ts';
import { DatabaseMissingError } from '../errors.ts';

type DbPaths = Pick<DataPaths, 'dbFile' | 'snapshotFile'>;

/** `snapshot` (default), `main` or a path. */
export function readerFile(paths: DbPaths, choice: string | undefined): string {
  if (choice === undefined || choice === 'snapshot') return paths.snapshotFile;
  if (choice === 'main') return paths.dbFile;
  return resolve(choice);
}

export async function openForReading(paths: DbPaths, choice: string | undefined, options: OpenReaderOptions = {}): Promise<Db> {
  const file = readerFile(paths, choice);
  try {
    return await openReader(file, options);
  } catch (err) {
    if (err instanceof DatabaseMissingError && file === paths.snapshotFile) {
      throw new DatabaseMissingError(`no snapshot yet at ${file}: run \`tagspend jobs run reconcile\` first`, { cause: err });
    }
    throw err;
  }
}
