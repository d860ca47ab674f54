// A simulated provider for tests, the demo and benchmarks: OpenAI-compatible endpoints and
// Anthropic's Messages API (./messages.ts). Plain node:http and as little parsing as the answer
// needs, because benchmarks measure the proxy in front of it. Answers are deterministic (usage
// rules in ./usage.ts and ./messages.ts); failures are injected on request:
//   model `error-<status>` or header `x-mock-error: <status>`  -> that status, OpenAI error body
//                                                                  (Anthropic's on /messages)
//   body `mock_latency_ms` / header `x-mock-latency-ms`         -> delay before answering
//   body `mock_chunk_delay_ms`                                  -> delay between stream frames
//   body `mock_abort_after_chunks: N`                           -> socket destroyed after N frames
//                                                                  (non-stream or N=0: before any byte)
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createSecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { InvalidJsonError, InvalidRequestError, MethodNotAllowedError, NotFoundError, toOpenAIError } from '../errors.ts';
import { readBody, sendJson, sendStream, wait } from './http.ts';
import {
  chatChunks,
  chatCompletionJson,
  embeddings,
  injectedError,
  model,
  MODELS_BODY,
  responsesEvents,
  responsesResponse,
  textCompletion,
  textCompletionChunks,
  type Reply,
} from './payloads.ts';
import { datedModel, intField, usageFor, type MockEndpoint } from './usage.ts';
import { anthropicError, countTokensJson, messageEvents, messageJson, messagesReply, MockPromptCache } from './messages.ts';

export interface MockUpstreamOptions {
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Delay before every answer unless the request names its own. */
  latencyMs?: number;
  /** Delay between stream frames unless the request names its own. */
  chunkDelayMs?: number;
  /** Milliseconds since the epoch, for `created` fields. */
  clock?: () => number;
  /** Serve HTTPS with this key and certificate (PEM); with `http2`, HTTP/2 by ALPN (HTTP/1.1 still offered). */
  tls?: { key: string | Buffer; cert: string | Buffer; http2?: boolean };
}

export interface RecordedRequest {
  /** The request target as received, query string included. */
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body; the raw text when it was not JSON; null for GET. */
  body: unknown;
}

export interface MockUpstream {
  /** Base URL including `/v1`, e.g. http://127.0.0.1:PORT/v1. */
  readonly url: string;
  readonly port: number;
  /** Requests received so far. */
  readonly requests: number;
  readonly lastRequest: RecordedRequest | null;
  close(): Promise<void>;
}

const POST_ROUTES: Record<string, MockEndpoint | 'messages' | 'count_tokens'> = {
  '/chat/completions': 'chat',
  '/completions': 'completions',
  '/embeddings': 'embeddings',
  '/responses': 'responses',
  '/messages': 'messages',
  '/messages/count_tokens': 'count_tokens',
};

type Body = Record<string, unknown>;

/** Path without query string and without the optional `/v1` prefix. */
function routeOf(url: string): string {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  return path === '/v1' || path.startsWith('/v1/') ? path.slice(3) : path;
}

function headerInt(headers: IncomingHttpHeaders, name: string): number | undefined {
  const raw = headers[name];
  if (typeof raw !== 'string') return undefined;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n) || n < 0) {
    throw new InvalidRequestError(`header ${name} must be a non-negative integer`, { param: name });
  }
  return n;
}

function injectedStatus(headers: IncomingHttpHeaders, body: Body | null): number | undefined {
  const header = headers['x-mock-error'];
  let raw: string | undefined = typeof header === 'string' ? header : undefined;
  if (raw === undefined && body !== null && typeof body.model === 'string' && body.model.startsWith('error-')) {
    raw = body.model.slice('error-'.length);
  }
  if (raw === undefined) return undefined;
  const status = Number(raw);
  if (!Number.isInteger(status) || status < 400 || status > 599) {
    throw new InvalidRequestError(`mock error status must be 400-599, got ${JSON.stringify(raw)}`, { param: 'x-mock-error' });
  }
  return status;
}

export async function startMockUpstream(opts: MockUpstreamOptions = {}): Promise<MockUpstream> {
  const host = opts.host ?? '127.0.0.1';
  const defaultLatency = opts.latencyMs ?? 0;
  const defaultChunkDelay = opts.chunkDelayMs ?? 0;
  const clock = opts.clock ?? Date.now;
  const state = { url: '', port: 0, requests: 0, lastRequest: null as RecordedRequest | null, close };
  const promptCache = new MockPromptCache();

  async function serve(req: IncomingMessage, res: ServerResponse, seq: number): Promise<void> {
    const requestId = `req_mock${seq}`;
    const route = routeOf(req.url ?? '/');
    const endpoint = Object.hasOwn(POST_ROUTES, route) ? POST_ROUTES[route] : undefined;
    const isModels = route === '/models' || route.startsWith('/models/');
    if (endpoint === undefined && !isModels) throw new NotFoundError(`unknown path ${route}`);
    if (req.method !== (isModels ? 'GET' : 'POST')) throw new MethodNotAllowedError(`${req.method} is not allowed on ${route}`);

    let body: Body | null = null;
    if (endpoint !== undefined) {
      const raw = (await readBody(req)).toString('utf8');
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch (err) {
        state.lastRequest = { path: req.url ?? '/', headers: req.headers, body: raw };
        throw new InvalidJsonError('We could not parse the JSON body of your request.', { cause: err });
      }
      state.lastRequest = { path: req.url ?? '/', headers: req.headers, body: parsed };
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        throw new InvalidRequestError('the request body must be a JSON object');
      }
      body = parsed as Body;
    } else {
      state.lastRequest = { path: req.url ?? '/', headers: req.headers, body: null };
    }

    const latency = (body && intField(body, 'mock_latency_ms')) ?? headerInt(req.headers, 'x-mock-latency-ms') ?? defaultLatency;
    if (latency > 0 && !(await wait(latency, res))) return;

    const anthropic = endpoint === 'messages' || endpoint === 'count_tokens';
    const status = injectedStatus(req.headers, body);
    if (status !== undefined) {
      const json = anthropic ? anthropicError(status, `mock upstream: injected error ${status}`) : JSON.stringify(injectedError(status));
      sendJson(res, status, json, requestId, status === 429 ? { 'retry-after': '1' } : undefined);
      return;
    }

    if (body === null || endpoint === undefined) {
      sendJson(res, 200, route === '/models' ? MODELS_BODY : JSON.stringify(model(decodeURIComponent(route.slice('/models/'.length)))), requestId);
      return;
    }

    if (typeof body.model !== 'string' || body.model === '') {
      throw new InvalidRequestError('you must provide a model parameter', { param: 'model' });
    }
    if (endpoint === 'count_tokens') {
      sendJson(res, 200, countTokensJson(body), requestId);
      return;
    }
    if (endpoint === 'messages') {
      await serveMessages(res, body, seq, requestId);
      return;
    }
    const { usage, limited } = usageFor(endpoint, body);
    const streamOptions = body.stream_options as { include_usage?: unknown } | null | undefined;
    const reply: Reply = {
      id: endpoint === 'chat' ? `chatcmpl-mock${seq}` : endpoint === 'completions' ? `cmpl-mock${seq}` : `mock${seq}`,
      created: Math.floor(clock() / 1000),
      model: datedModel(body.model),
      usage,
      finishReason: limited ? 'length' : 'stop',
      includeUsage: streamOptions?.include_usage === true,
    };
    const abortAfter = intField(body, 'mock_abort_after_chunks');
    const chunkDelay = intField(body, 'mock_chunk_delay_ms') ?? defaultChunkDelay;
    const stream = body.stream === true && endpoint !== 'embeddings';

    if (abortAfter !== undefined && (!stream || abortAfter === 0)) {
      res.destroy();
      return;
    }
    if (stream) {
      const frames = endpoint === 'chat' ? chatChunks(reply) : endpoint === 'completions' ? textCompletionChunks(reply) : responsesEvents(reply);
      await sendStream(res, frames, requestId, chunkDelay, abortAfter);
      return;
    }
    let json: string;
    if (endpoint === 'chat') json = chatCompletionJson(reply);
    else if (endpoint === 'completions') json = JSON.stringify(textCompletion(reply));
    else if (endpoint === 'responses') json = JSON.stringify(responsesResponse(reply));
    else json = JSON.stringify(embeddings(reply, body.input, intField(body, 'dimensions', 1) ?? 8, body.encoding_format === 'base64'));
    sendJson(res, 200, json, requestId);
  }

  async function serveMessages(res: ServerResponse, body: Body, seq: number, requestId: string): Promise<void> {
    const reply = messagesReply(body, seq, datedModel(body.model as string).replace(/-(\d{4})-(\d{2})-(\d{2})$/, '-$1$2$3'), promptCache);
    const abortAfter = intField(body, 'mock_abort_after_chunks');
    const stream = body.stream === true;
    if (abortAfter !== undefined && (!stream || abortAfter === 0)) {
      res.destroy();
      return;
    }
    if (!stream) {
      sendJson(res, 200, messageJson(reply), requestId);
      return;
    }
    const frames = messageEvents(reply, {
      overloadAfterEvents: intField(body, 'mock_overload_after_events'),
      unknownEvent: body.mock_unknown_event === true,
    });
    await sendStream(res, frames, requestId, intField(body, 'mock_chunk_delay_ms') ?? defaultChunkDelay, abortAfter);
  }

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const seq = ++state.requests;
    serve(req, res, seq).catch((err: unknown) => {
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      const { status, body } = toOpenAIError(err);
      const anthropic = routeOf(req.url ?? '/').startsWith('/messages');
      sendJson(res, status, anthropic ? anthropicError(status, body.error.message) : JSON.stringify(body), `req_mock${seq}`);
    });
  };
  const tls = opts.tls;
  // HTTP/2's compatibility request and response objects stand in for node:http's here.
  const server: Server = !tls
    ? createServer(handler)
    : tls.http2
      ? (createSecureServer({ key: tls.key, cert: tls.cert, allowHTTP1: true }, handler as never) as unknown as Server)
      : createHttpsServer({ key: tls.key, cert: tls.cert }, handler);
  const sessions = new Set<{ destroy(): void }>();
  server.on('session', (session: { destroy(): void; once(e: 'close', f: () => void): void }) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });

  let closing: Promise<void> | null = null;
  function close(): Promise<void> {
    closing ??= new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()));
      // Keep-alive sockets and HTTP/2 sessions (idle or mid-stream) would otherwise hold close() open.
      if (typeof server.closeAllConnections === 'function') server.closeAllConnections();
      for (const s of sessions) s.destroy();
    });
    return closing;
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  state.port = (server.address() as AddressInfo).port;
  state.url = `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${state.port}/v1`;
  return state;
}
