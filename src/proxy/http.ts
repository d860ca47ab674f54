// Small HTTP helpers for node:http handlers: bounded body reading and OpenAI-shaped replies.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BudgetExceededError, InvalidJsonError, InvalidRequestError, PayloadTooLargeError, toOpenAIError } from '../errors.ts';

/**
 * Reads the whole request body, refusing more than `limit` bytes with a 413. The listeners are
 * left in place: the request is finished (or abandoned) when the promise settles, and removing
 * them would cost more than it saves on the hot path.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) {
    return Promise.reject(new PayloadTooLargeError(`Request body is ${declared} bytes; the limit is ${limit}`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > limit) {
        settled = true;
        reject(new PayloadTooLargeError(`Request body exceeds the limit of ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.on('error', (err: Error) => {
      if (settled) return;
      settled = true;
      reject(err);
    });
    req.on('close', () => {
      if (settled || req.complete) return;
      settled = true;
      reject(Object.assign(new Error('client closed the request'), { code: 'ECONNRESET' }));
    });
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

/** Answers with the OpenAI error shape (or the one `shape` gives) for any error; returns the status sent. */
export function sendError(res: ServerResponse, err: unknown, shape: (err: unknown) => { status: number; body: unknown } = toOpenAIError): number {
  const { status, body } = shape(err);
  const headers: Record<string, string> = {};
  if (err instanceof BudgetExceededError) {
    headers['retry-after'] = String(Math.max(1, Math.ceil(err.retryAfterSeconds)));
    // A budget filled only by requests in flight frees up when they end: a retry may pass.
    headers['x-should-retry'] = err.transient ? 'true' : 'false';
  }
  // A body we refused to read leaves bytes on the socket: close it rather than reuse it.
  if (status === 413) headers.connection = 'close';
  sendJson(res, status, body, headers);
  return status;
}

/** Admin request bodies (/tag/*, /customer/*): small, and always a JSON object. */
const ADMIN_BODY_LIMIT = 64 * 1024;

export async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const raw = await readBody(req, ADMIN_BODY_LIMIT);
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new InvalidJsonError(`Request body is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidRequestError('Request body must be a JSON object');
  return body as Record<string, unknown>;
}

export function queryOf(req: IncomingMessage): URLSearchParams {
  const q = req.url!.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : req.url!.slice(q + 1));
}
