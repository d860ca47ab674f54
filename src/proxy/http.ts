// Small HTTP helpers for node:http handlers: bounded body reading and OpenAI-shaped replies.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PayloadTooLargeError, toOpenAIError, BudgetExceededError } from '../errors.ts';

/** Reads the whole request body, refusing more than `limit` bytes with a 413. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) {
    return Promise.reject(new PayloadTooLargeError(`Request body is ${declared} bytes; the limit is ${limit}`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        reject(new PayloadTooLargeError(`Request body exceeds the limit of ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onClose = () => {
      if (!req.complete) onError(Object.assign(new Error('client closed the request'), { code: 'ECONNRESET' }));
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** Answers with the OpenAI error shape for any error; returns the status sent. */
export function sendError(res: ServerResponse, err: unknown): number {
  const { status, body } = toOpenAIError(err);
  const headers: Record<string, string> = {};
  if (err instanceof BudgetExceededError) {
    headers['retry-after'] = String(Math.max(1, Math.ceil(err.retryAfterSeconds)));
    headers['x-should-retry'] = 'false';
  }
  // A body we refused to read leaves bytes on the socket: close it rather than reuse it.
  if (status === 413) headers.connection = 'close';
  sendJson(res, status, body, headers);
  return status;
}
