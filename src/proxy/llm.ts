// The handler behind every API endpoint, OpenAI-compatible and Anthropic-native alike:
// authenticate, read and attribute the request, route it, forward it, and make sure exactly one
// spend record is written per request before the response's last byte goes out, whatever
// happens (recorder.ts writes it, relay.ts passes answers on). What differs between the two
// APIs is a dialect (dialect.ts, messages.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { InvalidAttributionError, InvalidRequestError, SpendLogUnavailableError, UpstreamError, toOpenAIError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { upstreamError } from '../providers/errors.ts';
import type { PriceTable } from '../spend/pricing.ts';
import type { SpendWriter } from '../spool/writer.ts';
import { attribute, redactMetadata } from './attribution.ts';
import { refuseViewer, type KeyRing } from './auth.ts';
import { notJsonError, readBody } from './http.ts';
import { OPENAI_API, type ApiDialect } from './dialect.ts';
import type { ProxyMetrics } from './metrics.ts';
import type { BudgetGate } from '../budget/gate.ts';
import { admit } from './admission.ts';
import { ClientGoneError, createRecorder, outcomeOf, type Draft } from './recorder.ts';
import { ClientAbort, parseRawHeaders, relayJson, relayStream, sendWholeAnswer } from './relay.ts';
import { checkModelAllowed, type Router } from './router.ts';
import { uuidv7 } from './request-id.ts';
import { userIdForm } from './user-id.ts';
import type { SecretScrubber } from './secrets.ts';
import type { Upstream, UpstreamCall, UpstreamRequest, WholeAnswer } from './upstream.ts';


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
  bodyTimeoutMs: number;
  /** Cap on one SSE event from a provider (upstream.max_event_bytes). */
  maxEventBytes: number;
  userIdSalt: string | null;
  redactKeys: readonly string[];
  budget: BudgetGate | null;
  /** budgets.reservation_output_tokens_cap (0 = none). */
  outputTokensCap: number;
  /** Configured keys, scrubbed from provider error text before it is stored or relayed. */
  secrets: SecretScrubber;
}

/** Request headers a provider may need; everything else (auth above all) stays here. */
const FORWARDED_HEADERS = ['openai-beta', 'openai-organization', 'openai-project', 'anthropic-version', 'anthropic-beta', 'http-referer', 'x-title'];
const STREAMABLE = new Set(['/chat/completions', '/completions', '/responses', '/messages']);
const USAGE_OPTION_ENDPOINTS = new Set(['/chat/completions', '/completions']);
const CLIENT_GONE_MESSAGE = 'client disconnected before the response was complete';

export function createLlmHandler(deps: LlmDeps) {
  const hashUser = userIdForm(deps.userIdSalt);
  const record = createRecorder(deps);

  /** record() for a failure: a record that cannot be written now was deferred by the recorder. */
  function recordFailure(...args: Parameters<typeof record>): boolean {
    try {
      record(...args);
      return true;
    } catch (err) {
      if (err instanceof SpendLogUnavailableError) return false;
      throw err;
    }
  }

  /** Every failure ends here: its record, then an error in the API's shape (or a cut connection). */
  function fail(d: Draft, res: ServerResponse, err: unknown, api: ApiDialect): void {
    const outcome = outcomeOf(err);
    if (outcome === 'client_disconnect') {
      recordFailure(d, outcome, res.headersSent ? res.statusCode : 0, CLIENT_GONE_MESSAGE, d.usage ? undefined : { cost: null, ref: null });
      if (!res.destroyed) res.destroy();
      return;
    }
    if (err instanceof SpendLogUnavailableError) {
      // Refused before the provider was called, or its answer withheld: the record (written or
      // deferred) says 507, and the client never gets an answer that has no record.
      recordFailure(d, outcome, 507, err.message);
      if (res.headersSent) {
        if (!res.destroyed) res.destroy();
        return;
      }
      res.setHeader('x-tagspend-request-id', d.requestId);
      res.setHeader('x-litellm-call-id', d.requestId);
      api.sendError(res, err);
      return;
    }
    if (outcome === 'proxy_error') deps.logger.error({ err, request_id: d.requestId }, 'request failed inside the proxy');
    // A provider's error text is relayed and stored: never with a key it echoed.
    if (err instanceof UpstreamError) err.message = deps.secrets.scrub(err.message);
    const { status } = toOpenAIError(err);
    const message = err instanceof Error ? err.message : String(err);
    if (res.headersSent) {
      // Mid-stream failure: the status is already out; record what the client got.
      if (recordFailure(d, outcome, res.statusCode, message)) res.end();
      else if (!res.destroyed) res.destroy();
      return;
    }
    if (!recordFailure(d, outcome, status, message)) {
      fail(d, res, new SpendLogUnavailableError('Spend records cannot be written; the request was not completed'), api);
      return;
    }
    res.setHeader('x-tagspend-request-id', d.requestId);
    res.setHeader('x-litellm-call-id', d.requestId);
    if (err instanceof UpstreamError && err.retryAfter) res.setHeader('retry-after', err.retryAfter);
    api.sendError(res, err);
  }

  /** A whole answer arrived (called from undici's parser: it must not throw). */
  function answered(d: Draft, res: ServerResponse, answer: WholeAnswer, api: ApiDialect, free: boolean): void {
    try {
      if (answer.statusCode >= 400) {
        throw upstreamError(answer.statusCode, answer.body.toString('utf8'), parseRawHeaders(answer.rawHeaders), d.route!.provider.name);
      }
      sendWholeAnswer(d, answer, res, record, api.normaliseUsage, free);
    } catch (err) {
      failSafely(d, res, err, api);
    }
  }

  function failSafely(d: Draft, res: ServerResponse, err: unknown, api: ApiDialect): void {
    try {
      fail(d, res, err, api);
    } catch (inner) {
      deps.logger.error({ err: inner, request_id: d.requestId }, 'could not answer a failed request');
      if (!res.destroyed) res.destroy();
    }
  }

  return async function handle(req: IncomingMessage, res: ServerResponse, endpoint: string, recordEndpoint: string, api: ApiDialect = OPENAI_API): Promise<void> {
    const startMs = deps.clock();
    const d: Draft = {
      startMs,
      requestId: uuidv7(startMs),
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
      reservation: null,
      price: null,
    };
    const abort = new ClientAbort();
    let call: UpstreamCall | null = null;
    // Fires once after every response; only one that did not finish means the client went away.
    res.on('close', () => {
      if (res.writableFinished) return;
      abort.abort();
      call?.abort(new ClientGoneError());
    });
    try {
      d.principal = deps.keyring.authenticate(req.headers);
      refuseViewer(d.principal); // recorded under its own alias, as a 403
      const raw = await readBody(req, deps.maxBodyBytes, { timeoutMs: deps.bodyTimeoutMs });
      const body = parseBody(raw);
      if (typeof body.model === 'string') d.model = body.model;
      d.stream = body.stream === true;
      const key = d.principal.key;
      const attr = attribute(body, req.headers, key);
      api.attribute?.(body, req.headers, attr);
      d.tags = attr.tags;
      d.metadata = attr.metadata;
      if (deps.redactKeys.length) redactMetadata(d.metadata, deps.redactKeys);
      d.user = attr.user === null ? null : hashUser(attr.user);
      if (d.principal.tagAccess) d.principal.tagAccess.checkRequest(d.tags, key!.alias);
      if (key) {
        for (const prefix of key.requiredTagPrefixes) {
          if (!d.tags.some((t) => t.startsWith(prefix))) {
            throw new InvalidAttributionError(`Requests with key "${key.alias}" must carry a tag starting with "${prefix}"`, { param: 'tags' });
          }
        }
      }
      d.route = api.route(deps.router, body.model);
      if (key) checkModelAllowed(d.model!, key.allowedModels);
      // No provider call for spend that could not be recorded (full disk, failed writes).
      const unwritable = deps.writer.problem();
      if (unwritable) throw new SpendLogUnavailableError(`${unwritable}; the request was not sent to the provider`);
      d.reservation = admit(deps, d, body, raw.length);

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
      for (const h in api.defaultHeaders) headers[h] ??= api.defaultHeaders[h]!;
      const query = api.forwardQuery ? req.url!.indexOf('?') : -1;
      const path = query < 0 ? endpoint : endpoint + req.url!.slice(query);
      const request: UpstreamRequest = { provider: d.route.provider, path, method: 'POST', body: JSON.stringify(body), headers, keyHeader: api.keyHeader };
      if (abort.aborted) throw new ClientGoneError();
      if (!d.stream) {
        const free = api.free.has(endpoint);
        // Answered (or failed) from undici's callbacks; nothing to await here.
        call = deps.upstream.fetchWhole(request, {
          onAnswer: (answer) => answered(d, res, answer, api, free),
          onFailure: (err) => failSafely(d, res, err, api),
        });
        return;
      }
      let up: Dispatcher.ResponseData;
      try {
        up = await deps.upstream.request({ ...request, signal: abort });
      } catch (err) {
        throw abort.aborted ? new ClientGoneError() : err;
      }
      if (up.statusCode >= 400) {
        const text = await up.body.text().catch(() => '');
        throw upstreamError(up.statusCode, text, up.headers, d.route.provider.name);
      }
      if (String(up.headers['content-type'] ?? '').includes('text/event-stream')) {
        await relayStream(d, up, res, api.newTap(hideUsageChunk), abort, record, { maxEventBytes: deps.maxEventBytes, scrub: deps.secrets });
      } else {
        await relayJson(d, up, res, abort, record, api.normaliseUsage);
      }
    } catch (err) {
      fail(d, res, err, api);
    }
  };
}

function parseBody(raw: Buffer): Record<string, unknown> {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw notJsonError(err);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidRequestError('Request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}
