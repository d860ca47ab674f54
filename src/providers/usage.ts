// Token usage as providers report it, normalised to one shape. OpenAI-compatible providers
// differ in the details: the Responses API says input/output tokens, DeepSeek reports cache
// hits on its own field, Anthropic's compatibility layer reports cache writes.
import type { Usage } from '../spend/record.ts';

type Obj = Record<string, unknown>;

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0;
}

function obj(v: unknown): Obj {
  return typeof v === 'object' && v !== null ? (v as Obj) : {};
}

/** Normalises a `usage` object from any OpenAI-style endpoint; null when there is none. */
export function normaliseUsage(raw: unknown): Usage | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const u = raw as Obj;
  const responsesShape = 'input_tokens' in u || 'output_tokens' in u;
  const prompt = num(responsesShape ? u.input_tokens : u.prompt_tokens);
  const completion = num(responsesShape ? u.output_tokens : u.completion_tokens);
  const inDetails = obj(responsesShape ? u.input_tokens_details : u.prompt_tokens_details);
  const outDetails = obj(responsesShape ? u.output_tokens_details : u.completion_tokens_details);
  const cached = Math.min(prompt, num(inDetails.cached_tokens) || num(u.prompt_cache_hit_tokens) || num(u.cache_read_input_tokens));
  const cacheWrite = Math.min(
    prompt - cached,
    num(inDetails.cache_creation_tokens) || num(inDetails.cache_write_tokens) || num(u.cache_creation_input_tokens),
  );
  const reasoning = Math.min(completion, num(outDetails.reasoning_tokens));
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: num(u.total_tokens) || prompt + completion,
    cached_tokens: cached,
    cache_write_tokens: cacheWrite,
    cache_write_1h_tokens: 0,
    reasoning_tokens: reasoning,
  };
}

/** Usage and served model from a complete (non-streamed) JSON response body. */
export function usageFromBody(body: unknown): { usage: Usage | null; model: string | null } {
  const b = obj(body);
  // Responses API objects nest usage under `response` in streamed events; top level otherwise.
  const usage = normaliseUsage(b.usage) ?? normaliseUsage(obj(b.response).usage);
  const model = typeof b.model === 'string' ? b.model : typeof obj(b.response).model === 'string' ? (obj(b.response).model as string) : null;
  return { usage, model };
}

const USAGE_KEY = Buffer.from('"usage"');
const MODEL_KEY = Buffer.from('"model"');

/**
 * Usage and served model straight from a JSON response's bytes, without decoding or parsing
 * the whole body: on the hot path a full JSON.parse of every answer costs more than the rest
 * of the request's bookkeeping. The `"usage"` key is found from the end (it follows the
 * content in every OpenAI-style answer; a `"usage"` inside content would be escaped) and only
 * its object is parsed. Anything unexpected falls back to parsing the whole body. Bytes are
 * scanned as they are: every byte of a multi-byte UTF-8 character is >= 0x80, so quotes,
 * backslashes and braces cannot be confused with one.
 */
export function usageFromBytes(buf: Buffer, normalise: UsageNormaliser = normaliseUsage): { usage: Usage | null; model: string | null } {
  const usage = usageObjectIn(buf, normalise);
  if (usage === undefined) {
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(buf.toString('utf8'));
    } catch {
      return { usage: null, model: null };
    }
    if (normalise === normaliseUsage) return usageFromBody(parsed);
    const b = obj(parsed);
    return { usage: normalise(b.usage), model: typeof b.model === 'string' ? b.model : null };
  }
  return { usage, model: modelIn(buf) };
}

/** Turns a provider's `usage` object into the record's usage (OpenAI's shapes by default). */
export type UsageNormaliser = (raw: unknown) => Usage | null;

/** undefined when no well-formed top-level-looking usage object was found. */
function usageObjectIn(buf: Buffer, normalise: UsageNormaliser): Usage | null | undefined {
  const at = buf.lastIndexOf(USAGE_KEY);
  if (at < 0) return undefined;
  let i = skipSpace(buf, at + USAGE_KEY.length);
  if (buf[i] !== 58 /* : */) return undefined;
  i = skipSpace(buf, i + 1);
  if (buf[i] !== 123 /* { */) return undefined;
  const end = closingIndex(buf, i);
  if (end < 0) return undefined;
  try {
    return normalise(JSON.parse(buf.toString('utf8', i, end + 1)));
  } catch {
    return undefined;
  }
}

function skipSpace(buf: Buffer, i: number): number {
  while (i < buf.length) {
    const c = buf[i];
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) break;
    i++;
  }
  return i;
}

/** Index of the `}` closing the object that opens at `start` (or of the `"` closing a string), or -1. */
function closingIndex(buf: Buffer, start: number): number {
  let depth = 0;
  let inString = buf[start] === 34;
  for (let i = inString ? start + 1 : start; i < buf.length; i++) {
    const c = buf[i];
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) {
        if (depth === 0) return i;
        inString = false;
      }
    } else if (c === 34) {
      inString = true;
    } else if (c === 123) {
      depth++;
    } else if (c === 125) {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

function modelIn(buf: Buffer): string | null {
  const at = buf.indexOf(MODEL_KEY);
  if (at < 0) return null;
  let i = skipSpace(buf, at + MODEL_KEY.length);
  if (buf[i] !== 58 /* : */) return null;
  i = skipSpace(buf, i + 1);
  if (buf[i] !== 34 /* " */) return null;
  const end = closingIndex(buf, i);
  if (end < 0) return null;
  const backslash = buf.indexOf(92 /* \ */, i);
  if (backslash >= 0 && backslash < end) {
    try {
      return JSON.parse(buf.toString('utf8', i, end + 1)) as string;
    } catch {
      return null;
    }
  }
  return buf.toString('utf8', i + 1, end);
}
