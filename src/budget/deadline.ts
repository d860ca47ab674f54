// A deadline for work against the store that may hang (a server that announced more bytes than
// it sent leaves the S3 client waiting for its 60 s socket timeout): the caller goes on after
// `ms`, and the work, told by `current()` that it was given up, must change nothing when it ends.

/** A poll of the store (definitions, block-list) still running after this counts as failed. */
export const POLL_DEADLINE_MS = 15_000;

export class DeadlineError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} took longer than ${ms} ms`);
    this.name = 'DeadlineError';
  }
}

/** `work`'s result, or a DeadlineError after `ms` (after which `current()` is false for good). */
export async function withDeadline<T>(ms: number, what: string, work: (current: () => boolean) => Promise<T>): Promise<T> {
  let live = true;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      live = false;
      reject(new DeadlineError(what, ms));
    }, ms);
  });
  const running = work(() => live);
  // What the work does after the deadline is nobody's business, its failure included.
  running.catch(() => undefined);
  try {
    return await Promise.race([running, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
