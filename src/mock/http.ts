// The node:http plumbing of the mock upstream: reading a body, writing JSON and SSE, and waits
// that end early when the response closes (client gone, server closing) so no timer outlives it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PayloadTooLargeError } from '../errors.ts';

const MAX_BODY_BYTES = 32 * 1024 * 1024;

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Keep draining so the 413 can still be delivered on this connection.
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) reject(new PayloadTooLargeError(`request body is larger than ${MAX_BODY_BYTES} bytes`));
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    });
    // A client that goes away mid-body surfaces here (ECONNRESET "aborted").
    req.on('error', reject);
  });
}

/** Resolves true after `ms`, or false as soon as the response is closed (client gone, server closing). */
export function wait(ms: number, res: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const onClose = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      res.off('close', onClose);
      resolve(true);
    }, ms);
    res.once('close', onClose);
  });
}

export function drained(res: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const onDrain = () => {
      res.off('close', onClose);
      resolve(true);
    };
    const onClose = () => {
      res.off('drain', onDrain);
      resolve(false);
    };
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}

export function sendJson(res: ServerResponse, status: number, json: string, requestId: string, extra?: Record<string, string>): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(json),
    'x-request-id': requestId,
    ...extra,
  });
  res.end(json);
}

/**
 * Writes each frame as its own HTTP chunk so pass-through can be observed chunk by chunk. Node
 * corks the socket for the rest of the tick on a chunked write, so undelayed frames still leave
 * in one syscall; with a delay every frame is its own packet.
 */
export async function sendStream(res: ServerResponse, frames: Iterable<string>, requestId: string, delayMs: number, abortAfter: number | undefined): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-request-id': requestId });
  let sent = 0;
  for (const frame of frames) {
    if (res.destroyed) return;
    if (delayMs > 0 && sent > 0 && !(await wait(delayMs, res))) return;
    sent++;
    if (sent === abortAfter) {
      // Destroy only once the frame reached the socket, so the client sees N frames and then a cut.
      res.write(frame, () => res.destroy());
      return;
    }
    if (!res.write(frame) && !(await drained(res))) return;
  }
  res.end();
}
