// Which DuckDB file `tagspend query` and `tagspend report` read: the published snapshot by
// default (never blocked by a running job), the jobs' own file, or any path.
import { resolve } from 'node:path';
import { openReader, type Db } from '../src/db/open.ts';
import { DatabaseMissingError } from '../src/errors.ts';
import type { JobSettings } from './settings.ts';

/** `snapshot` (default), `main` or a path. */
export function readerFile(settings: JobSettings, choice: string | undefined): string {
  if (choice === undefined || choice === 'snapshot') return settings.snapshotFile;
  if (choice === 'main') return settings.dbFile;
  return resolve(choice);
}

export async function openForReading(settings: JobSettings, choice: string | undefined): Promise<Db> {
  const file = readerFile(settings, choice);
  try {
    return await openReader(file);
  } catch (err) {
    if (err instanceof DatabaseMissingError && file === settings.snapshotFile) {
      throw new DatabaseMissingError(`no snapshot yet at ${file}: run \`tagspend jobs run reconcile\` first`, { cause: err });
    }
    throw err;
  }
}
