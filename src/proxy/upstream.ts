// Upstream HTTP: one pooled keep-alive undici Agent for all providers, with connect,
// headers and body timeouts. Transport failures become typed errors the handler maps to
// 502/504; HTTP error statuses are the provider's answer and pass through.
import { Agent, errors as undiciErrors, type Dispatcher } from 'undici';
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
  signal: AbortSignal;
}

export class Upstream {
  private readonly agent: Agent;
  private readonly targets = new Map<string, { origin: string; basePath: string }>();

  constructor(options: Config['upstream']) {
    this.agent = new Agent({
      connections: options.connections,
      connectTimeout: options.connect_timeout_ms,
      headersTimeout: options.headers_timeout_ms,
      bodyTimeout: options.body_timeout_ms,
      keepAliveTimeout: 30_000,
      pipelining: 1,
    });
  }

  private target(provider: ResolvedProvider): { origin: string; basePath: string } {
    let t = this.targets.get(provider.baseUrl);
    if (!t) {
      const u = new URL(provider.baseUrl);
      t = { origin: u.origin, basePath: u.pathname.replace(/\/+$/, '') };
      this.targets.set(provider.baseUrl, t);
    }
    return t;
  }

  async request(r: UpstreamRequest): Promise<Dispatcher.ResponseData> {
    const { origin, basePath } = this.target(r.provider);
    const headers: Record<string, string> = { ...r.provider.headers, ...r.headers };
    if (r.provider.apiKey) headers.authorization = `Bearer ${r.provider.apiKey}`;
    try {
      return await this.agent.request({
        origin,
        path: basePath + r.path,
        method: r.method,
        headers,
        body: r.body,
        signal: r.signal,
      });
    } catch (err) {
      throw toTransportError(err, r.provider.name);
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
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
