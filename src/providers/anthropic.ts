// Anthropic's Messages API as the proxy meets it: the usage object, the error shape, and the
// end user Claude Code puts in `metadata.user_id`. Pure functions of what the provider and the
// client sent (docs/pricing.md maps a Messages usage object to the record's token fields).
import { TagspendError, UpstreamError } from '../errors.ts';
import type { Usage } from '../spend/record.ts';

type Obj = Record<string, unknown>;

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0;
}

function obj(v: unknown): Obj | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : null;
}

/**
 * A Messages usage object in the record's terms. Anthropic reports `input_tokens` without the
 * cache: prompt_tokens adds the cache reads and writes back, so it means what it means for
 * OpenAI (every prompt token); cache_write_tokens is every write, cache_write_1h_tokens the
 * 1-hour part of it. Output tokens include thinking; `output_tokens_details.thinking_tokens`,
 * when reported, is the reasoning part of them.
 */
export function messagesUsage(raw: unknown): Usage | null {
  const u = obj(raw);
  if (!u) return null;
  const input = num(u.input_tokens);
  const read = num(u.cache_read_input_tokens);
  const split = obj(u.cache_creation);
  const write5m = num(split?.ephemeral_5m_input_tokens);
  const write1h = num(split?.ephemeral_1h_input_tokens);
  // The total is authoritative; the split, when present, says how much of it is 1-hour.
  const writes = Math.max(num(u.cache_creation_input_tokens), write5m + write1h);
  const prompt = input + read + writes;
  const completion = num(u.output_tokens);
  const thinking = num(obj(u.output_tokens_details)?.thinking_tokens);
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    cached_tokens: read,
    cache_write_tokens: writes,
    cache_write_1h_tokens: Math.min(write1h, writes),
    reasoning_tokens: Math.min(thinking, completion),
  };
}

/**
 * Folds the usage of a stream event into what the stream reported so far: `message_start`
 * carries the input side, each `message_delta` cumulative counts (the last one wins). Fields an
 * event does not carry keep their earlier value.
 */
export function mergeMessagesUsage(sofar: Obj | null, next: unknown): Obj | null {
  const n = obj(next);
  if (!n) return sofar;
  const out: Obj = { ...sofar };
  for (const k of Object.keys(n)) {
    if (n[k] === null || n[k] === undefined) continue;
    out[k] = k === 'cache_creation' || k === 'output_tokens_details' ? { ...obj(out[k]), ...obj(n[k]) } : n[k];
  }
  return out;
}

export interface AnthropicErrorBody {
  type: 'error';
  error: { type: string; message: string };
}

/** Anthropic's error types, by HTTP status (https://docs.anthropic.com/en/api/errors). */
const TYPE_BY_STATUS: ReadonlyMap<number, string> = new Map([
  [400, 'invalid_request_error'],
  [401, 'authentication_error'],
  [402, 'billing_error'],
  [403, 'permission_error'],
  [404, 'not_found_error'],
  [405, 'invalid_request_error'],
  [413, 'request_too_large'],
  [429, 'rate_limit_error'],
  [500, 'api_error'],
  [502, 'api_error'],
  [503, 'api_error'],
  [504, 'timeout_error'],
  [529, 'overloaded_error'],
]);
const ANTHROPIC_TYPES = new Set([...TYPE_BY_STATUS.values()]);

function typeFor(status: number): string {
  return TYPE_BY_STATUS.get(status) ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
}

/**
 * Any error in Anthropic's shape: a provider's error keeps its own type when it is one of
 * Anthropic's; tagspend's own errors get the type of their status, so the SDK and Claude Code
 * show the message under the error class they expect.
 */
export function toAnthropicError(err: unknown): { status: number; body: AnthropicErrorBody } {
  if (err instanceof TagspendError) {
    const type = err instanceof UpstreamError && ANTHROPIC_TYPES.has(err.type) ? err.type : typeFor(err.status);
    return { status: err.status, body: { type: 'error', error: { type, message: err.message } } };
  }
  return { status: 500, body: { type: 'error', error: { type: 'api_error', message: 'internal proxy error' } } };
}

/** Who Claude Code says is calling: the end user and the coding session, from `metadata.user_id`. */
export interface ClaudeCodeUser {
  user: string | null;
  sessionId: string | null;
}

const LEGACY_USER_ID = /^user_([0-9a-f]+)_account_([0-9a-f-]*)_session_([0-9a-f-]+)$/;

function idString(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

/**
 * Claude Code sends `metadata.user_id` as a JSON string of `device_id`, `account_uuid` and
 * `session_id` (older releases: `user_<device>_account_<uuid>_session_<uuid>`). The end user is
 * the account, else the device; null when the id is not Claude Code's (then it is the user as is).
 */
export function claudeCodeUser(userId: string): ClaudeCodeUser | null {
  if (userId.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(userId);
    } catch {
      return null;
    }
    const o = obj(parsed);
    if (!o || !('device_id' in o || 'account_uuid' in o || 'session_id' in o)) return null;
    return { user: idString(o.account_uuid) ?? idString(o.device_id), sessionId: idString(o.session_id) };
  }
  const legacy = LEGACY_USER_ID.exec(userId);
  if (legacy) return { user: legacy[2] || legacy[1]!, sessionId: legacy[3]! };
  return null;
}
