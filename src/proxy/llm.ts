// The handler behind every OpenAI-compatible API endpoint: authenticate, read and attribute
// the request, route it, forward it, capture usage, price it, and write exactly one spend
// record per request before the response's last byte goes out, whatever happens.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHmac } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Dispatcher } from 'undici';
import {
  BudgetExceededError,
  InvalidAttributionError,
  InvalidJsonError,
  InvalidRequestError,
  TagspendError,
  UpstreamError,
  toOpenAIError,
} from '../errors.ts';
import type { Logger } from '../log.ts';
import { upstreamError } from '../providers/errors.ts';
import { usageFromText } from '../providers/usage.ts';
import type { PriceTable } from '../spend/pricing.ts';
import { costOf } from '../spend/pricing.ts';
import { SPEND_SCHEMA_VERSION, ZERO_USAGE, type Outcome, type SpendRecord, type Usage } from '../spend/record.ts';
import { isoTimestamp } from '../spend/timestamp.ts';
import type { SpendWriter } from '../spend/writer.ts';
import { attribute, redactMetadata } from './attribution.ts';
import type { KeyRing, Principal } from './auth.ts';
import { readBody, sendError } from './http.ts';
import type { ProxyMetrics } from './metrics.ts';
import { checkModelAllowed, type Route, type Router } from './router.ts';
import { uuidv7 } from './request-id.ts';
import { SseUsageTap } from './sse.ts';
import { toTransportError, type Upstream } from './upstream.ts';

/** Spend gate for budgets: throws BudgetExceededError for a blocked tag; told about spend. */
export interface BudgetGate {
  check(tags: readonly string[], nowMs: number): void;
  recordSpend(tags: readonly string[], costUsd: number, nowMs: number): void;
}

export interface LlmDeps {
  instance: string;
  keyring: KeyRing;
  router: Router;
  upstream: Upstream;
  prices: PriceTable;
  writer: SpendWriter;
  metrics: ProxyMetrics;
  logger: Logger;
  clock: () => number;
  maxBodyBytes: number;
  userIdSalt: string | null;
  redactKeys: readonly string[];
  budget: BudgetGate | null;
}

/** Request headers a provider may need; everything else (auth above all) stays here. */
const FORWARDED_HEADERS = ['openai-beta', 'openai-organization', 'openai-project', 'anthropic-version', 'anthropic-beta', 'http-referer', 'x-title'];
/** Response headers that must not be copied from upstream (hop-by-hop or recomputed). */
const DROPPED_RESPONSE_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'content-encoding', 'date', 'server']);
const STREAMABLE = new Set(['/chat/completions', '/completions', '/responses']);
const USAGE_OPTION_ENDPOINTS = new Set(['/chat/completions', '/completions']);

class ClientGoneError extends Error {
  constructor() {
    super('client disconnected');
    this.name = 'ClientGoneError';
  }
}

/**
 * Aborts the upstream request when the client goes away. undici accepts any EventEmitter
 * with `aborted` as a signal; an AbortController costs several microseconds per request
 * for a feature almost no request uses.
 */
class ClientAbort extends EventEmitter {
  aborted = false;
  reason: unknown = undefined;

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = new ClientGoneError();
    this.emit('abort');
  }
}

interface Draft {
  startMs: number;
  requestId: string;
  endpoint: string;
  model: string | null;
  route: Route | null;
  upstreamModel: string | null;
  stream: boolean;
  tags: string[];
  user: string | null;
  metadata: Record<string, string>;
  principal: Principal | null;
  usage: Usage | null;
}

export function createLlmHandler(deps: LlmDeps) {
  const hashUser = deps.userIdSalt
    ? (user: string) => createHmac('sha256', deps.userIdSalt!).update(user).digest('hex')
    : (user: string) => user;

  function price(d: Draft): { cost: number | null; ref: string | null } {
    if (!d.route || !d.usage) return { cost: null, ref: null };
    const match = deps.prices.lookup(d.route.provider.name, d.upstreamModel ?? d.route.upstreamModel);
    if (!match) return { cost: null, ref: null };
    return { cost: costOf(d.usage, match.price), ref: match.ref };
  }

  function record(d: Draft, outcome: Outcome, status: number, error: string | null, priced?: { cost: number | null; ref: string | null }): number | null {
    const endMs = deps.clock();
    const usage = d.usage ?? ZERO_USAGE;
    // No usage on a success means the cost is unknown (null); a failure without usage cost nothing.
    const p = priced ?? (d.usage || outcome === 'success' ? price(d) : { cost: 0, ref: null });
    const rec: SpendRecord = {
      schema: SPEND_SCHEMA_VERSION,
      request_id: d.requestId,
      ts: isoTimestamp(d.startMs),
      end_ts: isoTimestamp(endMs),
      latency_ms: endMs - d.startMs,
      instance: deps.instance,
      endpoint: d.endpoint,
      model: d.model,
      provider: d.route?.provider.name ?? null,
      upstream_model: d.upstreamModel ?? d.route?.upstreamModel ?? null,
      stream: d.stream,
      status,
      outcome,
      prompt_tokens: usage.prompt_tokens,
      completion_tokens: usage.completion_tokens,
      total_tokens: usage.total_tokens,
      cached_tokens: usage.cached_tokens,
      cache_write_tokens: usage.cache_write_tokens,
      reasoning_tokens: usage.reasoning_tokens,
      cost_usd: p.cost,
      price_ref: p.ref,
      tags: d.tags,
      user: d.user,
      metadata: d.metadata,
      key_alias: d.principal?.alias ?? null,
      key_hash: d.principal?.keyHash ?? null,
      error: error === null ? null : error.slice(0, 1000),
    };
    deps.writer.write(rec);
    deps.metrics.observeRequest(rec);
    if (p.cost) deps.budget?.recordSpend(d.tags, p.cost, endMs);
    return p.cost;
  }

  function outcomeOf(err: unknown): Outcome {
    if (err instanceof ClientGoneError) return 'client_disconnect';
    if (err instanceof BudgetExceededError) return 'blocked';
    if (err instanceof UpstreamError || (err instanceof TagspendError && err.code.startsWith('UPSTREAM'))) return 'upstream_error';
    if (err instanceof TagspendError && err.status < 500) return 'invalid_request';
    return 'proxy_error';
  }

  return async function handle(req: IncomingMessage, res: ServerResponse, endpoint: string, recordEndpoint: string): Promise<void> {
    const d: Draft = {
      startMs: deps.clock(),
      requestId: '',
      endpoint: recordEndpoint,
      model: null,
      route: null,
      upstreamModel: null,
      stream: false,
      tags: [],
      user: null,
      metadata: {},
      principal: null,
      usage: null,
    };
    d.requestId = uuidv7(d.startMs);
    const abort = new ClientAbort();
    // Fires after every response; only one that did not finish means the client went away.
    res.once('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    try {
      d.principal = deps.keyring.authenticate(req.headers);
      const raw = await readBody(req, deps.maxBodyBytes);
      const body = parseBody(raw);
      if (typeof body.model === 'string') d.model = body.model;
      d.stream = body.stream === true;
      const key = d.principal.key;
      const attr = attribute(body, req.headers, key);
      d.tags = attr.tags;
      d.metadata = attr.metadata;
      if (deps.redactKeys.length) redactMetadata(d.metadata, deps.redactKeys);
      d.user = attr.user === null ? null : hashUser(attr.user);
      if (key) {
        for (const prefix of key.requiredTagPrefixes) {
          if (!d.tags.some((t) => t.startsWith(prefix))) {
            throw new InvalidAttributionError(`Requests with key "${key.alias}" must carry a tag starting with "${prefix}"`, { param: 'tags' });
          }
        }
      }
      d.route = deps.router.route(body.model);
      if (key) checkModelAllowed(d.model!, key.allowedModels);
      deps.budget?.check(d.tags, d.startMs);

      // The provider gets its own model id, and never the proxy-only fields.
      body.model = d.route.upstreamModel;
      let hideUsageChunk = false;
      if (d.stream) {
        if (!STREAMABLE.has(endpoint)) throw new InvalidRequestError(`${endpoint} does not support stream`, { param: 'stream' });
        if (USAGE_OPTION_ENDPOINTS.has(endpoint)) {
          const opts = (typeof body.stream_options === 'object' && body.stream_options !== null ? body.stream_options : {}) as Record<string, unknown>;
          if (opts.include_usage !== true) {
            hideUsageChunk = true;
            body.stream_options = { ...opts, include_usage: true };
          }
        }
      }
      const headers: Record<string, string> = { 'content-type': 'application/json', accept: d.stream ? 'text/event-stream' : 'application/json' };
      for (const h of FORWARDED_HEADERS) {
        const v = req.headers[h];
        if (typeof v === 'string') headers[h] = v;
      }
      let up: Dispatcher.ResponseData;
      try {
        up = await deps.upstream.request({ provider: d.route.provider, path: endpoint, method: 'POST', body: JSON.stringify(body), headers, signal: abort });
      } catch (err) {
        throw abort.aborted ? new ClientGoneError() : err;
      }
      const contentType = String(up.headers['content-type'] ?? '');
      if (up.statusCode >= 400) {
        const text = await up.body.text().catch(() => '');
        throw upstreamError(up.statusCode, text, up.headers, d.route.provider.name);
      }
      if (d.stream && contentType.includes('text/event-stream')) {
        await relayStream(d, up, res, hideUsageChunk, abort);
      } else {
        await relayJson(d, up, res, abort);
      }
    } catch (err) {
      const outcome = outcomeOf(err);
      if (outcome === 'client_disconnect') {
        record(d, outcome, res.headersSent ? res.statusCode : 0, 'client disconnected before the response was complete', d.usage ? undefined : { cost: null, ref: null });
        if (!res.destroyed) res.destroy();
        return;
      }
      if (outcome === 'proxy_error') deps.logger.error({ err, request_id: d.requestId }, 'request failed inside the proxy');
      const { status } = toOpenAIError(err);
      const message = err instanceof Error ? err.message : String(err);
      if (res.headersSent) {
        // Mid-stream failure: the status is already out; record what the client got.
        record(d, outcome, res.statusCode, message);
        res.end();
        return;
      }
      record(d, outcome, status, message);
      res.setHeader('x-tagspend-request-id', d.requestId);
      if (err instanceof UpstreamError && err.retryAfter) res.setHeader('retry-after', err.retryAfter);
      sendError(res, err);
    }
  };

  async function relayJson(d: Draft, up: Dispatcher.ResponseData, res: ServerResponse, signal: ClientAbort): Promise<void> {
    // Read as text: it is parsed for usage anyway, and a string body lets node:http send
    // headers and body in one write instead of a writev.
    let text: string;
    try {
      text = await up.body.text();
    } catch (err) {
      throw signal.aborted ? new ClientGoneError() : toTransportError(err, d.route!.provider.name);
    }
    const { usage, model } = usageFromText(text);
    d.usage = usage;
    if (model) d.upstreamModel = model;
    const cost = record(d, 'success', up.statusCode, usage ? null : 'provider response carried no usage');
    const headers = copyHeaders(up.headers, d.requestId);
    headers['content-length'] = String(Buffer.byteLength(text));
    if (cost !== null) headers['x-tagspend-cost-usd'] = String(cost);
    res.writeHead(up.statusCode, headers);
    res.end(text);
  }

  async function relayStream(d: Draft, up: Dispatcher.ResponseData, res: ServerResponse, hideUsageChunk: boolean, signal: ClientAbort): Promise<void> {
    const tap = new SseUsageTap({ hideUsageChunk });
    const headers = copyHeaders(up.headers, d.requestId);
    headers['cache-control'] = 'no-cache';
    res.writeHead(up.statusCode, headers);
    res.flushHeaders();
    try {
      for await (const chunk of up.body) {
        const out = tap.push(chunk as Buffer);
        if (out && !res.write(out)) await drained(res, signal);
      }
    } catch (err) {
      if (signal.aborted) throw new ClientGoneError();
      d.usage = tap.usage;
      if (tap.model) d.upstreamModel = tap.model;
      throw toTransportError(err, d.route!.provider.name);
    }
    const rest = tap.flush();
    if (rest) res.write(rest);
    d.usage = tap.usage;
    if (tap.model) d.upstreamModel = tap.model;
    if (tap.errorMessage) {
      record(d, 'upstream_error', up.statusCode, tap.errorMessage);
    } else if (!tap.done && !d.usage) {
      record(d, 'upstream_error', up.statusCode, 'stream ended before completion');
    } else {
      record(d, 'success', up.statusCode, d.usage ? null : 'provider stream carried no usage');
    }
    res.end();
  }
}

function parseBody(raw: Buffer): Record<string, unknown> {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new InvalidJsonError(`Request body is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidRequestError('Request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

function drained(res: ServerResponse, signal: ClientAbort): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new ClientGoneError());
    const done = () => {
      signal.off('abort', onAbort);
      resolve();
    };
    const onAbort = () => {
      res.off('drain', done);
      reject(new ClientGoneError());
    };
    res.once('drain', done);
    signal.once('abort', onAbort);
  });
}

function copyHeaders(h: Record<string, string | string[] | undefined>, requestId: string): Record<string, string> {
  const out: Record<string, string> = { 'x-tagspend-request-id': requestId };
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || DROPPED_RESPONSE_HEADERS.has(k)) continue;
    out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}
