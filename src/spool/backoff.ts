// Retry pacing for uploads to a store that may be down for minutes: exponential growth so a
// long outage costs few requests, a cap so recovery is noticed soon, and full jitter so many
// proxies that lost the same store do not come back in lock-step.

export interface BackoffPolicy {
  /** Upper bound of the first delay. */
  baseMs: number;
  /** Upper bound of any delay. */
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = Object.freeze({ baseMs: 500, capMs: 30_000 });

/**
 * Delay before retry number `attempt` (0 for the first retry): uniform in
 * [0, min(cap, base * 2^attempt)). `random` returns a number in [0, 1).
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  // 2^attempt overflows to Infinity long after the cap is reached; min() keeps it finite.
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}

/** A sleep that an AbortSignal cuts short (resolves early, never rejects). */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export const realSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
