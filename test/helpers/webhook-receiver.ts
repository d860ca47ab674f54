// A local webhook receiver for alert tests: records every JSON body it is sent and answers
// with a status the test can change (e.g. 500 to simulate an outage).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface WebhookReceiver {
  url: string;
  /** Bodies of the POSTs answered with 2xx, in arrival order. */
  readonly received: Record<string, any>[];
  /** Every POST, accepted or not. */
  readonly attempts: number;
  /** The status answered from now on. */
  status: number;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: Record<string, any>[] = [];
  let attempts = 0;
  const state = { status: 200 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      attempts += 1;
      if (state.status < 300) received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(state.status, { 'content-type': 'text/plain' });
      res.end(state.status < 300 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hooks/budget`,
    received,
    get attempts() {
      return attempts;
    },
    get status() {
      return state.status;
    },
    set status(v: number) {
      state.status = v;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
