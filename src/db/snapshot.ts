// The read-only snapshot: DuckDB lets no other process open a file a writer holds, so after a
// job run the writer checkpoints (everything into the main file, WAL empty), copies the file
// while it still holds it (nobody can write it meanwhile), fsyncs the copy and renames it over
// the snapshot. Readers that opened the old snapshot keep reading the old inode; new readers
// get the new one; nobody ever sees a half-written copy.
import { copyFile, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Db } from './open.ts';
import { sql } from './sql.ts';

async function fsyncPath(path: string, flags: string): Promise<void> {
  const fh = await open(path, flags);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function publishSnapshot(db: Db, target: string, meta: { publishedAt: Date; runId: number }): Promise<void> {
  await db.conn.run(sql('db/delete_snapshot_meta'));
  await db.conn.run(sql('db/insert_snapshot_meta'), { published_at: meta.publishedAt.toISOString(), run_id: meta.runId });
  await db.conn.run(sql('db/checkpoint'));
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.tmp`);
  try {
    await copyFile(db.path, tmp);
    await fsyncPath(tmp, 'r+');
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await fsyncPath(dirname(target), 'r');
}
