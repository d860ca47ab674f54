// The mock upstream's Anthropic Messages API: deterministic usage (cache reads and writes
// included), Anthropic's SSE event sequence, a tool call on request, and injected failures.
//   input tokens      ceil(characters of tools, system and messages text / 4), at least 1
//   cache             prompt caching as Anthropic does it, per mock process: the text up to each
//                     `cache_control` breakpoint is a prefix; a prefix seen before is read from
//                     the cache, the rest up to the last breakpoint is written (5 minutes, or 1 hour
//                     with `ttl: "1h"`). Body `mock_cache_read_tokens`, `mock_cache_write_tokens`
//                     and `mock_cache_write_1h_tokens` set the counts instead.
//   output tokens     body `mock_output_tokens`, else min(max_tokens, 12); stop_reason max_tokens
//                     when max_tokens cut it short
//   tool call         a user text `[mock-tool:NAME {json input}]` (NAME among the request's tools)
//                     is answered with that tool_use, unless the last message is a tool result
//   failures          `mock_overload_after_events: N` sends an `event: error` (overloaded_error)
//                     after N events; `mock_unknown_event: true` adds an event type Anthropic
//                     might add one day; errors by model `error-<status>` / `x-mock-error` as for
//                     every endpoint, in Anthropic's error shape
import { createHash } from 'node:crypto';
import { InvalidRequestError } from '../errors.ts';
import { intField, tokensFromChars, wordPiece, generatedText } from './usage.ts';

type Body = Record<string, unknown>;

export interface MessagesUsage {
  input: number;
  cacheRead: number;
  cacheWrite5m: number;
  cacheWrite1h: number;
  output: number;
}

export interface MessagesReply {
  id: string;
  model: string;
  usage: MessagesUsage;
  stopReason: 'end_turn' | 'max_tokens' | 'tool_use';
  /** The tool call to answer with, when the request asked for one. */
  toolUse: { id: string; name: string; input: unknown } | null;
}

/** Default answer length: Claude Code asks for max_tokens 128000 and the mock answers briefly. */
const DEFAULT_OUTPUT_TOKENS = 12;
const TOOL_REQUEST = /\[mock-tool:([A-Za-z0-9_-]+)\s+(\{.*?\})\]/s;

function chars(value: unknown): number {
  if (typeof value === 'string') return value.length;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + chars(v), 0);
  if (typeof value === 'object' && value !== null) {
    const o = value as Body;
    if (typeof o.text === 'string') return o.text.length;
    if (o.content !== undefined) return chars(o.content);
    if (o.type === 'tool_use') return JSON.stringify(o.input ?? null).length;
  }
  return 0;
}

/** A cache breakpoint: characters of prompt up to and including the marked block, its lifetime, its prefix's identity. */
interface Breakpoint {
  chars: number;
  ttl: '5m' | '1h';
  key: string;
}

function ttlOf(block: Body): '5m' | '1h' | null {
  const cc = block.cache_control as { type?: unknown; ttl?: unknown } | undefined;
  if (typeof cc !== 'object' || cc === null) return null;
  return cc.ttl === '1h' ? '1h' : '5m';
}

/** The prompt in Anthropic's cache order (tools, system, messages) as blocks, with the breakpoints. */
function promptBlocks(body: Body): { total: number; breakpoints: Breakpoint[] } {
  const blocks: unknown[] = [];
  if (Array.isArray(body.tools)) blocks.push(...body.tools);
  if (typeof body.system === 'string') blocks.push({ type: 'text', text: body.system });
  else if (Array.isArray(body.system)) blocks.push(...body.system);
  for (const m of Array.isArray(body.messages) ? body.messages : []) {
    const content = (m as Body)?.content;
    if (typeof content === 'string') blocks.push({ type: 'text', text: content });
    else if (Array.isArray(content)) blocks.push(...content);
  }
  const hash = createHash('sha256');
  const breakpoints: Breakpoint[] = [];
  let total = 0;
  for (const block of blocks) {
    total += typeof block === 'object' && block !== null && (block as Body).name !== undefined && (block as Body).input_schema !== undefined
      ? JSON.stringify(block).length
      : chars(block);
    hash.update(JSON.stringify(block) ?? '');
    const ttl = typeof block === 'object' && block !== null ? ttlOf(block as Body) : null;
    if (ttl) breakpoints.push({ chars: total, ttl, key: hash.copy().digest('hex') });
  }
  return { total, breakpoints };
}

/** Prefixes a long-running mock remembers at most (then it forgets them all, as an evicted cache). */
const MAX_CACHED_PREFIXES = 100_000;

/** Prefixes written so far (a mock process's whole "cache"; nothing expires by time). */
export class MockPromptCache {
  private readonly seen = new Set<string>();

  usage(body: Body): Omit<MessagesUsage, 'output'> {
    const { total, breakpoints } = promptBlocks(body);
    const totalTokens = tokensFromChars(total);
    const explicit = [intField(body, 'mock_cache_read_tokens'), intField(body, 'mock_cache_write_tokens'), intField(body, 'mock_cache_write_1h_tokens')];
    if (explicit.some((v) => v !== undefined)) {
      const [read = 0, write5m = 0, write1h = 0] = explicit;
      return { input: totalTokens, cacheRead: read, cacheWrite5m: write5m, cacheWrite1h: write1h };
    }
    const prefix = (c: number) => (c === 0 ? 0 : tokensFromChars(c));
    let readChars = 0;
    for (let i = breakpoints.length - 1; i >= 0; i--) {
      if (this.seen.has(breakpoints[i]!.key)) {
        readChars = breakpoints[i]!.chars;
        break;
      }
    }
    let write5m = 0;
    let write1h = 0;
    let upTo = readChars;
    if (this.seen.size > MAX_CACHED_PREFIXES) this.seen.clear();
    for (const bp of breakpoints) {
      this.seen.add(bp.key);
      if (bp.chars <= upTo) continue;
      const tokens = prefix(bp.chars) - prefix(upTo);
      if (bp.ttl === '1h') write1h += tokens;
      else write5m += tokens;
      upTo = bp.chars;
    }
    return { input: Math.max(0, totalTokens - prefix(upTo)), cacheRead: prefix(readChars), cacheWrite5m: write5m, cacheWrite1h: write1h };
  }
}

/** The text of the last user message (Claude Code may put a system message after it). */
function lastUserText(body: Body): { text: string; afterToolResult: boolean } {
  const messages = Array.isArray(body.messages) ? (body.messages as Body[]) : [];
  const last = messages.findLast((m) => m?.role === 'user');
  if (!last) return { text: '', afterToolResult: false };
  const content = last.content;
  if (typeof content === 'string') return { text: content, afterToolResult: false };
  const blocks = Array.isArray(content) ? (content as Body[]) : [];
  const afterToolResult = blocks.some((b) => b?.type === 'tool_result');
  return { text: blocks.filter((b) => b?.type === 'text' && typeof b.text === 'string').map((b) => b.text as string).join('\n'), afterToolResult };
}

function requestedTool(body: Body, seq: number): MessagesReply['toolUse'] {
  const { text, afterToolResult } = lastUserText(body);
  if (afterToolResult) return null;
  const m = TOOL_REQUEST.exec(text);
  if (!m) return null;
  const tools = Array.isArray(body.tools) ? (body.tools as Body[]) : [];
  if (!tools.some((t) => t?.name === m[1])) return null;
  let input: unknown;
  try {
    input = JSON.parse(m[2]!);
  } catch {
    return null;
  }
  return { id: `toolu_mock${seq}`, name: m[1]!, input };
}

export function messagesReply(body: Body, seq: number, model: string, cache: MockPromptCache): MessagesReply {
  const maxTokens = intField(body, 'max_tokens', 1);
  if (maxTokens === undefined) throw new InvalidRequestError('max_tokens: Field required', { param: 'max_tokens' });
  const wanted = intField(body, 'mock_output_tokens', 1) ?? Math.min(maxTokens, DEFAULT_OUTPUT_TOKENS);
  const toolUse = requestedTool(body, seq);
  const output = Math.min(wanted, maxTokens);
  return {
    id: `msg_mock${seq}`,
    model,
    usage: { ...cache.usage(body), output },
    stopReason: toolUse ? 'tool_use' : output < wanted ? 'max_tokens' : 'end_turn',
    toolUse,
  };
}

function usageJson(u: MessagesUsage, output: number) {
  return {
    input_tokens: u.input,
    cache_creation_input_tokens: u.cacheWrite5m + u.cacheWrite1h,
    cache_read_input_tokens: u.cacheRead,
    cache_creation: { ephemeral_5m_input_tokens: u.cacheWrite5m, ephemeral_1h_input_tokens: u.cacheWrite1h },
    output_tokens: output,
    service_tier: 'standard',
  };
}

function content(r: MessagesReply): unknown[] {
  const text = { type: 'text', text: generatedText(r.usage.output) };
  return r.toolUse ? [text, { type: 'tool_use', id: r.toolUse.id, name: r.toolUse.name, input: r.toolUse.input }] : [text];
}

export function messageJson(r: MessagesReply): string {
  return JSON.stringify({
    id: r.id,
    type: 'message',
    role: 'assistant',
    model: r.model,
    content: content(r),
    stop_reason: r.stopReason,
    stop_sequence: null,
    usage: usageJson(r.usage, r.usage.output),
  });
}

function event(type: string, data: unknown): string {
  return `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}

export interface StreamOptions {
  overloadAfterEvents?: number | undefined;
  unknownEvent?: boolean;
}

/** Anthropic's sequence: message_start, ping, a text block (and a tool_use block), message_delta, message_stop. */
export function* messageEvents(r: MessagesReply, options: StreamOptions = {}): Generator<string> {
  const events = messageEventsInOrder(r, options.unknownEvent === true);
  let sent = 0;
  for (const e of events) {
    if (options.overloadAfterEvents !== undefined && sent === options.overloadAfterEvents) {
      yield event('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
      return;
    }
    sent++;
    yield e;
  }
}

function* messageEventsInOrder(r: MessagesReply, unknownEvent: boolean): Generator<string> {
  yield event('message_start', {
    type: 'message_start',
    message: { id: r.id, type: 'message', role: 'assistant', model: r.model, content: [], stop_reason: null, stop_sequence: null, usage: usageJson(r.usage, 1) },
  });
  yield event('ping', { type: 'ping' });
  yield event('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
  for (let i = 0; i < r.usage.output; i++) {
    yield event('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: wordPiece(i) } });
    if (unknownEvent && i === 0) yield event('mock_future_event', { type: 'mock_future_event', note: 'an event type clients must ignore' });
  }
  yield event('content_block_stop', { type: 'content_block_stop', index: 0 });
  if (r.toolUse) {
    yield event('content_block_start', { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: r.toolUse.id, name: r.toolUse.name, input: {} } });
    yield event('content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: JSON.stringify(r.toolUse.input) } });
    yield event('content_block_stop', { type: 'content_block_stop', index: 1 });
  }
  const u = usageJson(r.usage, r.usage.output);
  yield event('message_delta', {
    type: 'message_delta',
    delta: { stop_reason: r.stopReason, stop_sequence: null },
    usage: { input_tokens: u.input_tokens, cache_creation_input_tokens: u.cache_creation_input_tokens, cache_read_input_tokens: u.cache_read_input_tokens, output_tokens: u.output_tokens },
  });
  yield event('message_stop', { type: 'message_stop' });
}

/** count_tokens: the input side only. */
export function countTokensJson(body: Body): string {
  return JSON.stringify({ input_tokens: tokensFromChars(promptBlocks(body).total) });
}

const ANTHROPIC_ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

/** An injected failure in Anthropic's error shape. */
export function anthropicError(status: number, message: string): string {
  const type = ANTHROPIC_ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
  return JSON.stringify({ type: 'error', error: { type, message } });
}
