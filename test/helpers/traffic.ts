// Sustained client traffic for fault tests: a few workers sending chat completions in a loop,
// recording the request id of every response that came back (status + x-tagspend-request-id).
import { Agent, request } from 'undici';

export interface Traffic {
  /** Request ids of answered requests, in answer order. */
  readonly answered: string[];
  /** Requests that ended in a connection error (no answer). */
  readonly failed: number;
  /** Stops sending and waits for the requests in flight (again: the same promise). */
  stop(): Promise<void>;
}

const BODY = JSON.stringify({
  model: 'mock/gpt-4o-mini',
  messages: [{ role: 'user', content: 'hello' }],
  max_tokens: 8,
  metadata: { tags: ['app:fault-test'] },
});

/** `url` is read before each request, so a restarted proxy on a new port is followed. */
export function startTraffic(url: () => string, concurrency = 6): Traffic {
  const answered: string[] = [];
  let failed = 0;
  let stopping = false;
  const agent = new Agent({ connections: concurrency, keepAliveTimeout: 2_000 });
  const worker = async () => {
    while (!stopping) {
      try {
        const res = await request(`${url()}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: BODY,
          dispatcher: agent,
          headersTimeout: 10_000,
          bodyTimeout: 10_000,
        });
        await res.body.dump();
        const id = res.headers['x-tagspend-request-id'];
        if (typeof id === 'string') answered.push(id);
      } catch {
        failed += 1;
        // A proxy that is gone refuses at once: do not spin.
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  let stopped: Promise<void> | null = null;
  return {
    answered,
    get failed() {
      return failed;
    },
    stop() {
      stopping = true;
      stopped ??= Promise.all(workers).then(() => agent.close());
      return stopped;
    },
  };
}
