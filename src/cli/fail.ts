// Expected failures of a command (a typed TagspendError) end with a one-line message and an
// exit status instead of a stack trace; anything else is rethrown for main() to report.
import { DatabaseLockedError, TagspendError } from '../errors.ts';

/** The DuckDB file is held by another writer (EX_TEMPFAIL: try again later). */
export const EXIT_LOCKED = 75;

export function failCommand(err: unknown): void {
  if (!(err instanceof TagspendError)) throw err;
  process.stderr.write(`tagspend: ${err.message}\n`);
  process.exitCode = err instanceof DatabaseLockedError ? EXIT_LOCKED : 1;
}
