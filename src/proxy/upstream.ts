// Upstream HTTP: one pooled keep-alive undici Pool per provider, with connect, headers and
// body timeouts. Transport failures become typed errors the handler maps to 502/504; HTTP
// error statuses are the provider's answer and pass through. Streamed answers are read
// through undici's request() body stream; whole answers are collected by a dispatch handler.
import { Pool, errors as undiciErrors, type Dispatcher } from 'undici';
import type { Config, } from '../config/schema.ts';
import type { ResolvedProvider } from '../config/load.ts';
import { TagspendError, UpstreamTimeoutError, UpstreamUnavailableError } from '../errors.ts';

export interface UpstreamRequest {
  provider: ResolvedProvider;
  /** Endpoint path below the provider's base URL, e.g. `/chat/completions`. */
  path: string;
  method: 'GET' | 'POST';
  body: Buffer | string | null;
  headers: Record<string, string>;
  /** How the provider's key is sent: `Authorization: Bearer` (default) or Anthropic's `x-api-key`. */
  keyHeader?: 'authorization' | 'x-api-key';
}

export interface StreamedRequest extends UpstreamRequest {
  /** AbortSignal or an EventEmitter with `aborted` (undici accepts both). */
  signal: NonNullable<Dispatcher.RequestOptions['signal']>;
}

/** A whole upstream answer: status, header names and values as received (alternating), body bytes. */
export interface WholeAnswer {
  statusCode: number;
  rawHeaders: Buffer[];
  body: Buffer;
}

/** Exactly one of the two is called. */
export interface WholeAnswerCallbacks {
  onAnswer(answer: WholeAnswer): void;
  /** A transport failure (already a typed error), or the reason given to abort(). */
  onFailure(err: unknown): void;
}

export interface UpstreamCall {
  /** Stops the request; onFailure gets `reason` unless the answer is already complete. */
  abort(reason: Error): void;
}

/**
 * Streams per HTTP/2 connection (undici's default maxConcurrentStreams; a provider's SETTINGS can
 * lower it). undici sends a POST on a connection with other requests in flight only when the
 * request is marked idempotent, so with allow_h2 every request is: that is what lets LLM calls
 * share a connection (measured in docs/proxy.md). Against a provider that answers ALPN with
 * HTTP/1.1 the same setting would pipeline requests on one connection: allow_h2 is for h2
 * providers only.
 */
const H2_STREAMS = 100;

export class Upstream {
  private readonly options: Config['upstream'];
  /** One keep-alive pool per provider base URL (an Agent would add a dispatch layer per request). */
  private readonly targets = new Map<string, { pool: Pool; basePath: string; provider: string }>();

  /** Requests may share an HTTP/2 connection (see H2_STREAMS); undefined keeps undici's per-method default. */
  private readonly shareable: true | undefined;

  constructor(options: Config['upstream']) {
    this.options = options;
    this.shareable = options.allow_h2 ? true : undefined;
  }

  private target(provider: ResolvedProvider): { pool: Pool; basePath: string } {
    let t = this.targets.get(provider.baseUrl);
    if (!t) {
      const u = new URL(provider.baseUrl);
      const pool = new Pool(u.origin, {
        connections: this.options.connections,
        connectTimeout: this.options.connect_timeout_ms,
        headersTimeout: this.options.headers_timeout_ms,
        bodyTimeout: this.options.body_timeout_ms,
        keepAliveTimeout: 30_000,
        // HTTP/1.1: one request per connection. HTTP/2: up to H2_STREAMS requests share one
        // (undici's pipelining is its per-connection limit for h2 as well).
        ...(this.options.allow_h2 ? { allowH2: true, pipelining: H2_STREAMS } : { pipelining: 1 }),
      });
      t = { pool, basePath: u.pathname.replace(/\/+$/, ''), provider: provider.name };
      this.targets.set(provider.baseUrl, t);
    }
    return t;
  }

  private headers(r: UpstreamRequest): Record<string, string> {
    const headers: Record<string, string> = { ...r.provider.headers, ...r.headers };
    if (r.provider.apiKey) {
      if (r.keyHeader === 'x-api-key') headers['x-api-key'] = r.provider.apiKey;
      else headers.authorization = `Bearer ${r.provider.apiKey}`;
    }
    return headers;
  }

  /** Pool figures per provider base URL, for /metrics. */
  stats(): { provider: string; queued: number; running: number; connected: number }[] {
    const out: { provider: string; queued: number; running: number; connected: number }[] = [];
    for (const t of this.targets.values()) {
      const s = t.pool.stats;
      out.push({ provider: t.provider, queued: s.queued, running: s.running, connected: s.connected });
    }
    return out;
  }

  /** For answers read as a stream (SSE): the body is a Readable. */
  async request(r: StreamedRequest): Promise<Dispatcher.ResponseData> {
    const { pool, basePath } = this.target(r.provider);
    try {
      return await pool.request({ path: basePath + r.path, method: r.method, headers: this.headers(r), body: r.body, signal: r.signal, idempotent: this.shareable });
    } catch (err) {
      throw toTransportError(err, r.provider.name);
    }
  }

  /** For answers used whole (JSON): collected without a response stream. */
  fetchWhole(r: UpstreamRequest, callbacks: WholeAnswerCallbacks): UpstreamCall {
    const { pool, basePath } = this.target(r.provider);
    const handler = new WholeAnswerHandler(callbacks, r.provider.name);
    pool.dispatch({ path: basePath + r.path, method: r.method, headers: this.headers(r), body: r.body, idempotent: this.shareable }, handler);
    return handler;
  }

  async close(): Promise<void> {
    await Promise.all([...this.targets.values()].map((t) => t.pool.close()));
  }
}

/**
 * Collects one answer through undici's dispatch handler callbacks. undici's client core calls
 * these (onConnect, onHeaders, onData, onComplete, onError) itself; request() wraps them in an
 * async resource, a Readable body and a promise per stage, and the newer onRequestStart/
 * onResponse* interface is adapted back to them per request. For a body that is wanted whole,
 * collecting the chunks here does the same work for a fraction of the CPU.
 */
class WholeAnswerHandler implements Dispatcher.DispatchHandler, UpstreamCall {
  private readonly callbacks: WholeAnswerCallbacks;
  private readonly provider: string;
  private undiciAbort: ((err?: Error) => void) | null = null;
  private abortReason: Error | null = null;
  private settled = false;
  private statusCode = 0;
  private rawHeaders: Buffer[] = [];
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(callbacks: WholeAnswerCallbacks, provider: string) {
    this.callbacks = callbacks;
    this.provider = provider;
  }

  abort(reason: Error): void {
    if (this.settled || this.abortReason) return;
    this.abortReason = reason;
    if (this.undiciAbort) this.undiciAbort(reason);
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.abortReason) abort(this.abortReason);
    else this.undiciAbort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    if (statusCode < 200) return true; // 1xx: the real answer follows
    this.statusCode = statusCode;
    this.rawHeaders = rawHeaders;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    this.size += chunk.length;
    return true;
  }

  onComplete(): void {
    if (this.settled) return;
    this.settled = true;
    const body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
    this.chunks = [];
    this.callbacks.onAnswer({ statusCode: this.statusCode, rawHeaders: this.rawHeaders, body });
  }

  onError(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.chunks = [];
    this.callbacks.onFailure(this.abortReason ?? toTransportError(err, this.provider));
  }
}

/** Maps undici transport failures to typed errors; aborts are passed on untouched. */
export function toTransportError(err: unknown, provider: string): unknown {
  if (err instanceof TagspendError) return err;
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) {
    return new UpstreamTimeoutError(`Provider ${provider} did not answer in time`, { cause: err });
  }
  if (err instanceof undiciErrors.ConnectTimeoutError) {
    return new UpstreamTimeoutError(`Connecting to provider ${provider} timed out`, { cause: err });
  }
  if ((err as Error)?.name === 'AbortError' || err instanceof undiciErrors.RequestAbortedError) return err;
  if (err instanceof Error) {
    return new UpstreamUnavailableError(`Provider ${provider} is unreachable: ${err.message}`, { cause: err });
  }
  return err;
}
