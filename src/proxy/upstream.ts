// Upstream HTTP: one pooled keep-alive undici Agent for all providers, with connect,
// headers and body timeouts. Transport failures become typed errors the handler maps to
// 502/504; HTTP error statuses are the provider's answer and pass through.
import { Pool, errors as undiciErrors, type Dispatcher } from 'undici';
import type { Config, } from '../config/schema.ts';
import type { ResolvedProvider } from '../config/load.ts';
import { UpstreamTimeoutError, UpstreamUnavailableError } from '../errors.ts';

export interface UpstreamRequest {
  provider: ResolvedProvider;
  /** Endpoint path below the provider's base URL, e.g. `/chat/completions`. */
  path: string;
  method: 'GET' | 'POST';
  body: Buffer | string | null;
  headers: Record<string, string>;
  /** AbortSignal or an EventEmitter with `aborted` (undici accepts both). */
  signal: NonNullable<Dispatcher.RequestOptions['signal']>;
}

export class Upstream {
  private readonly options: Config['upstream'];
  /** One keep-alive pool per provider base URL (an Agent would add a dispatch layer per request). */
  private readonly targets = new Map<string, { pool: Pool; basePath: string }>();

  constructor(options: Config['upstream']) {
    this.options = options;
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
        pipelining: 1,
      });
      t = { pool, basePath: u.pathname.replace(/\/+$/, '') };
      this.targets.set(provider.baseUrl, t);
    }
    return t;
  }

  async request(r: UpstreamRequest): Promise<Dispatcher.ResponseData> {
    const { pool, basePath } = this.target(r.provider);
    const headers: Record<string, string> = { ...r.provider.headers, ...r.headers };
    if (r.provider.apiKey) headers.authorization = `Bearer ${r.provider.apiKey}`;
    try {
      return await pool.request({ path: basePath + r.path, method: r.method, headers, body: r.body, signal: r.signal });
    } catch (err) {
      throw toTransportError(err, r.provider.name);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.targets.values()].map((t) => t.pool.close()));
  }
}

/** Maps undici transport failures to typed errors; aborts are passed on untouched. */
export function toTransportError(err: unknown, provider: string): unknown {
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
