// One process per spool directory: crash recovery closes every segment it finds left
// active, which is only safe when no other live process is still writing them.
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TagspendError } from '../errors.ts';

export class SpoolLockedError extends TagspendError {
  override readonly code = 'SPOOL_LOCKED';
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the spool lock (a pid file); a lock left by a dead process is taken over. */
export function acquireSpoolLock(spoolDir: string): { release(): void } {
  mkdirSync(spoolDir, { recursive: true });
  const path = join(spoolDir, '.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return {
        release() {
          try {
            if (readFileSync(path, 'utf8') === String(process.pid)) unlinkSync(path);
          } catch {
            // Already gone.
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(path, 'utf8').trim());
      if (pid && pid !== process.pid && alive(pid)) {
        throw new SpoolLockedError(
          `spool directory ${spoolDir} is in use by process ${pid}; give each proxy its own data_dir`,
        );
      }
      unlinkSync(path);
    }
  }
  throw new SpoolLockedError(`could not take the lock on ${spoolDir}`);
}
