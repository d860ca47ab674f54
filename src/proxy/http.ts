// Small HTTP helpers for node:http handlers: bounded body reading and OpenAI-shaped replies.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { BudgetExceededError, InvalidJsonError, InvalidRequestError, MalformedRequestError, PayloadTooLargeError, RequestTimeoutError, toOpenAIError } from '../errors.ts';
import { ClientGoneError } from './recorder.ts';

export interface ReadBodyOptions {
  /** Deadline for the whole body from the call (ms); 0 or absent: none. */
  timeoutMs?: number;
}

/**
 * After a 413 the rest of the upload is read and discarded, up to this many bytes (at least
 * 64 MiB, else four times the limit) or this long: a server that stops reading makes the
 * client's kernel reset the connection, and most clients then report EPIPE/ECONNRESET instead
 * of the 413 (and SDKs retry). Beyond the bound the connection is closed.
 */
export const DISCARD_MIN_BYTES = 64 * 1024 * 1024;
export const DISCARD_MS = 10_000;

/** The parser's verdict when the client closed its side before the body was complete. */
const CLIENT_GONE_CODES = new Set(['HPE_INVALID_EOF_STATE', 'ECONNRESET', 'EPIPE']);

/** Body readers waiting on a socket, told when node:http reports a parse error on it (see onClientError). */
const readers = new WeakMap<Socket, (err: Error) => void>();

/**
 * Reads the whole request body, refusing more than `limit` bytes with a 413 (also when
 * Content-Length says so up front). A client that goes away mid-body is a ClientGoneError
 * (recorded as client_disconnect), broken chunk framing a MalformedRequestError (400), a body
 * that misses the deadline a RequestTimeoutError (408). The listeners are left in place: the
 * request is finished (or abandoned) when the promise settles, and removing them would cost
 * more than it saves on the hot path.
 */
export function readBody(req: IncomingMessage, limit: number, options: ReadBodyOptions = {}): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) {
    discardRest(req, limit, 0);
    return Promise.reject(new PayloadTooLargeError(`Request body is ${declared} bytes; the limit is ${limit}`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    let timer: NodeJS.Timeout | null = null;
    const socket = req.socket;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      readers.delete(socket);
      reject(err);
    };
    if (options.timeoutMs) {
      timer = setTimeout(() => fail(new RequestTimeoutError(`Request body not received within ${options.timeoutMs} ms`)), options.timeoutMs);
    }
    readers.set(socket, (err: Error & { code?: string }) =>
      fail(CLIENT_GONE_CODES.has(err.code ?? '') ? new ClientGoneError() : new MalformedRequestError(`Malformed request body: ${parseErrorText(err)}`, { cause: err })),
    );
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > limit) {
        fail(new PayloadTooLargeError(`Request body exceeds the limit of ${limit} bytes`));
        discardRest(req, limit, size);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      readers.delete(socket);
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.on('error', (err: Error) => fail(req.complete ? err : new ClientGoneError()));
    req.on('close', () => {
      if (!req.complete) fail(new ClientGoneError());
    });
  });
}

/** Reads and drops the rest of a refused upload, up to the discard bound, then closes the connection. */
function discardRest(req: IncomingMessage, limit: number, alreadyRead: number): void {
  if (req.complete) return;
  const bound = Math.max(DISCARD_MIN_BYTES, 4 * limit);
  let discarded = alreadyRead;
  const socket = req.socket;
  const stop = () => {
    clearTimeout(timer);
    if (!req.complete) socket.destroy();
  };
  const timer = setTimeout(stop, DISCARD_MS);
  timer.unref();
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > bound) stop();
  });
  req.on('end', () => clearTimeout(timer));
  req.on('close', () => clearTimeout(timer));
  req.resume();
}

/**
 * A body that is not JSON, as an error that says where and never what: V8's own messages quote
 * a few words of the input, which for an API request is the prompt (never stored, never echoed).
 */
export function notJsonError(err: unknown): InvalidJsonError {
  const at = /at position (\d+)/.exec(err instanceof Error ? err.message : '');
  return new InvalidJsonError(`Request body is not valid JSON${at ? ` (at position ${at[1]})` : ''}`);
}

function parseErrorText(err: Error): string {
  const code = (err as { code?: string }).code ?? '';
  if (code === 'HPE_INVALID_CHUNK_SIZE') return 'invalid chunk size in the chunked encoding';
  if (code.startsWith('HPE_')) return `HTTP framing error (${code})`;
  return err.message;
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 413: 'Payload Too Large', 431: 'Request Header Fields Too Large' };

/**
 * The server's 'clientError' listener. A parse error on a socket whose request body is being
 * read is handed to that reader, so the handler answers it (400, OpenAI shape, one record) and
 * the connection closes after the answer. Otherwise it does what node:http does by default,
 * with an OpenAI-shaped body: an error answer when nothing was sent yet, then close.
 */
export function onClientError(err: Error & { code?: string }, socket: Socket): void {
  const reader = readers.get(socket);
  if (reader) {
    readers.delete(socket);
    reader(err);
    return;
  }
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : err.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW' ? 413 : 400;
  const body = JSON.stringify({ error: { message: `${STATUS_TEXT[status]}: ${parseErrorText(err)}`, type: 'invalid_request_error', param: null, code: err.code?.toLowerCase() ?? null } });
  socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  socket.destroySoon();
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
  // A connection whose framing broke, or whose client is too slow, is not reused. (A 413 keeps
  // it: the rest of the upload is read and dropped, see discardRest.)
  if (err instanceof MalformedRequestError || err instanceof RequestTimeoutError) headers.connection = 'close';
  sendJson(res, status, body, headers);
  return status;
}

/** Admin request bodies (/tag/*, /customer/*): small, and always a JSON object. */
const ADMIN_BODY_LIMIT = 64 * 1024;
/** 64 KiB arrive in well under this; a slower body is a 408 (API bodies: request_body_timeout_ms). */
const ADMIN_BODY_TIMEOUT_MS = 30_000;

export async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const raw = await readBody(req, ADMIN_BODY_LIMIT, { timeoutMs: ADMIN_BODY_TIMEOUT_MS });
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw notJsonError(err);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidRequestError('Request body must be a JSON object');
  return body as Record<string, unknown>;
}

export function queryOf(req: IncomingMessage): URLSearchParams {
  const q = req.url!.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : req.url!.slice(q + 1));
}
