// Upstream answers on their way to the client: a whole JSON answer is priced and recorded
// before it is sent in one go; an SSE stream is passed on event by event and recorded before
// its end. Either way the record is written before the response's last byte goes out.
import type { ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { UpstreamEventTooLargeError } from '../errors.ts';
import { normaliseUsage, usageFromBytes, type UsageNormaliser } from '../providers/usage.ts';
import { costParts } from '../spend/pricing.ts';
import { ClientGoneError, type Draft, type Recorder } from './recorder.ts';
import type { SecretScrubber } from './secrets.ts';
import type { SseUsageTap } from './sse.ts';
import { toTransportError, type WholeAnswer } from './upstream.ts';

/** Response headers that must not be copied from upstream (hop-by-hop, recomputed, ours, or no header at all). */
const DROPPED = [
  'connection', 'keep-alive', 'transfer-encoding', 'content-length', 'content-encoding', 'date', 'server',
  'x-tagspend-request-id', 'x-tagspend-cost-usd', 'x-litellm-call-id', '__proto__',
];
/** An upstream LiteLLM's cost headers describe its prices, not ours: never passed on. */
const LITELLM_COST = Buffer.from('x-litellm-response-cost', 'latin1');
const DROPPED_RESPONSE_HEADERS = new Set(DROPPED);
/** The same as bytes, by length and first letter, so most dropped names are never decoded. */
const DROPPED_BYTES = new Map(DROPPED.map((name) => [name.length * 256 + name.charCodeAt(0), Buffer.from(name, 'latin1')]));
if (DROPPED_BYTES.size !== DROPPED.length) throw new Error('dropped header names must differ in length or first letter');

function lower(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/** Whether a raw header name (any case) is one of DROPPED, without decoding it. */
function isDropped(name: Buffer): boolean {
  const want = DROPPED_BYTES.get(name.length * 256 + lower(name[0] ?? 0));
  if (!want) return name.length >= LITELLM_COST.length && lower(name[0]!) === 0x78 && hasPrefix(name, LITELLM_COST);

  for (let i = 1; i < want.length; i++) if (lower(name[i]!) !== want[i]) return false;
  return true;
}

function hasPrefix(name: Buffer, prefix: Buffer): boolean {
  for (let i = 0; i < prefix.length; i++) if (lower(name[i]!) !== prefix[i]) return false;
  return true;
}

type AbortListener = () => void;

/**
 * The client went away: aborts what is in flight upstream. undici accepts any object with
 * `addEventListener` as a signal for streamed requests; an AbortController (or an
 * EventEmitter) costs several microseconds per request for a feature almost no request uses.
 */
export class ClientAbort {
  aborted = false;
  reason: unknown = undefined;
  private listeners: AbortListener[] | null = null;

  addEventListener(_type: 'abort', listener: AbortListener): void {
    (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: AbortListener): void {
    const i = this.listeners?.indexOf(listener) ?? -1;
    if (i >= 0) this.listeners!.splice(i, 1);
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = new ClientGoneError();
    const listeners = this.listeners;
    this.listeners = null;
    if (listeners) for (const l of listeners) l();
  }
}

/** Sends a whole JSON answer collected by the dispatch handler (raw upstream headers). */
export function sendWholeAnswer(d: Draft, answer: WholeAnswer, res: ServerResponse, record: Recorder, normalise: UsageNormaliser = normaliseUsage, free = false): void {
  sendWhole(d, answer.statusCode, headersFromRaw(answer.rawHeaders, d.requestId), answer.body, res, record, normalise, free);
}

const FREE = Object.freeze({ cost: 0, ref: null });

/**
 * Usage read from the body's bytes, record written, then headers (ours added) and body. A free
 * answer (Anthropic's count_tokens) costs 0 and carries no usage.
 */
function sendWhole(d: Draft, statusCode: number, headers: Record<string, string>, body: Buffer, res: ServerResponse, record: Recorder, normalise: UsageNormaliser, free: boolean): void {
  const { usage, model } = usageFromBytes(body, normalise);
  d.usage = free ? null : usage;
  if (model) d.upstreamModel = model;
  const cost = free ? record(d, 'success', statusCode, null, FREE) : record(d, 'success', statusCode, usage ? null : 'provider response carried no usage');
  headers['content-length'] = String(body.length);
  if (cost !== null) addCostHeaders(headers, d, cost);
  res.writeHead(statusCode, headers);
  res.end(body);
}

/**
 * Ours, and LiteLLM's: `x-litellm-response-cost` and its parts, which add up to it (input, cache
 * read, cache creation, output; reasoning is inside output). Cache and reasoning parts only when
 * not zero, as LiteLLM sends them.
 */
function addCostHeaders(headers: Record<string, string>, d: Draft, cost: number): void {
  const text = String(cost);
  headers['x-tagspend-cost-usd'] = text;
  headers['x-litellm-response-cost'] = text;
  if (!d.usage || !d.price) return;
  const p = costParts(d.usage, d.price.price);
  headers['x-litellm-response-cost-input'] = String(p.input);
  headers['x-litellm-response-cost-output'] = String(p.output);
  if (p.cacheRead) headers['x-litellm-response-cost-cache-read'] = String(p.cacheRead);
  if (p.cacheCreation) headers['x-litellm-response-cost-cache-creation'] = String(p.cacheCreation);
  if (p.reasoning) headers['x-litellm-response-cost-reasoning'] = String(p.reasoning);
}

/** Passes an SSE answer on event by event; records before the final end(). */
export async function relayStream(
  d: Draft,
  up: Dispatcher.ResponseData,
  res: ServerResponse,
  tap: SseUsageTap,
  signal: ClientAbort,
  record: Recorder,
  options: { maxEventBytes?: number; scrub?: SecretScrubber } = {},
): Promise<void> {
  tap.limit(options);
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
    // Recorded with the usage seen so far, whether the provider or the client broke off.
    d.usage = tap.usage;
    if (tap.model) d.upstreamModel = tap.model;
    // The client is told in the stream's own terms (an OpenAI error event) before it ends.
    if (err instanceof UpstreamEventTooLargeError) res.write(tap.errorEventFor(err));
    if (signal.aborted) throw new ClientGoneError();
    throw toTransportError(err, d.route!.provider.name);
  }
  // The terminal event waits in `rest` until the record is written.
  const rest = tap.flush();
  d.usage = tap.usage;
  if (tap.model) d.upstreamModel = tap.model;
  if (tap.errorMessage) {
    record(d, 'upstream_error', up.statusCode, tap.errorMessage);
  } else if (!tap.finished()) {
    record(d, 'upstream_error', up.statusCode, 'stream ended before completion');
  } else {
    record(d, 'success', up.statusCode, d.usage ? null : 'provider stream carried no usage');
  }
  if (rest) res.write(rest);
  res.end();
}

/** A JSON answer that came back on the streamed path (the provider did not stream). */
export async function relayJson(
  d: Draft,
  up: Dispatcher.ResponseData,
  res: ServerResponse,
  signal: ClientAbort,
  record: Recorder,
  normalise: UsageNormaliser = normaliseUsage,
): Promise<void> {
  let body: Buffer;
  try {
    body = Buffer.from(await up.body.arrayBuffer());
  } catch (err) {
    throw signal.aborted ? new ClientGoneError() : toTransportError(err, d.route!.provider.name);
  }
  sendWhole(d, up.statusCode, copyHeaders(up.headers, d.requestId), body, res, record, normalise, false);
}

function drained(res: ServerResponse, signal: ClientAbort): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new ClientGoneError());
    const done = () => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    };
    const onAbort = () => {
      res.off('drain', done);
      reject(new ClientGoneError());
    };
    res.once('drain', done);
    signal.addEventListener('abort', onAbort);
  });
}

/** Upstream headers as a parsed object (error bodies, Retry-After). */
export function parseRawHeaders(raw: Buffer[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = raw[i]!.toString('latin1').toLowerCase();
    if (k === '__proto__') continue;
    const v = raw[i + 1]!.toString('latin1');
    const held = out[k];
    out[k] = held === undefined ? v : Array.isArray(held) ? [...held, v] : [held, v];
  }
  return out;
}

function headersFromRaw(raw: Buffer[], requestId: string): Record<string, string> {
  const out: Record<string, string> = { 'x-tagspend-request-id': requestId, 'x-litellm-call-id': requestId };
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (isDropped(raw[i]!)) continue;
    const k = raw[i]!.toString('latin1').toLowerCase();
    const v = raw[i + 1]!.toString('latin1');
    out[k] = out[k] === undefined ? v : `${out[k]}, ${v}`;
  }
  return out;
}

function copyHeaders(h: Record<string, string | string[] | undefined>, requestId: string): Record<string, string> {
  const out: Record<string, string> = { 'x-tagspend-request-id': requestId, 'x-litellm-call-id': requestId };
  for (const k in h) {
    const v = h[k];
    if (v === undefined || DROPPED_RESPONSE_HEADERS.has(k) || k.startsWith('x-litellm-response-cost')) continue;
    out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}
