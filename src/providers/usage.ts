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

const MODEL_FIELD = /"model"\s*:\s*"((?:[^"\\]|\\.)*)"/y;

/**
 * Usage and served model straight from a JSON response's text, without parsing the whole body:
 * on the hot path a full JSON.parse of every answer costs more than the rest of the request's
 * bookkeeping. The `"usage"` key is found from the end (it follows the content in every
 * OpenAI-style answer; a `"usage"` inside content would be escaped) and only its object is
 * parsed. Anything unexpected falls back to parsing the whole body.
 */
export function usageFromText(text: string): { usage: Usage | null; model: string | null } {
  const usage = usageObjectAt(text);
  if (usage === undefined) {
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(text);
    } catch {
      return { usage: null, model: null };
    }
    return usageFromBody(parsed);
  }
  return { usage, model: modelFromText(text) };
}

/** undefined when no well-formed top-level-looking usage object was found. */
function usageObjectAt(text: string): Usage | null | undefined {
  const at = text.lastIndexOf('"usage"');
  if (at < 0) return undefined;
  let i = skipSpace(text, at + 7);
  if (text.charCodeAt(i) !== 58 /* : */) return undefined;
  i = skipSpace(text, i + 1);
  if (text.charCodeAt(i) !== 123 /* { */) return undefined;
  const end = objectEnd(text, i);
  if (end < 0) return undefined;
  try {
    return normaliseUsage(JSON.parse(text.slice(i, end + 1)));
  } catch {
    return undefined;
  }
}

function skipSpace(text: string, i: number): number {
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) break;
    i++;
  }
  return i;
}

/** Index of the `}` closing the object that opens at `start`, or -1. */
function objectEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
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

function modelFromText(text: string): string | null {
  const at = text.indexOf('"model"');
  if (at < 0) return null;
  MODEL_FIELD.lastIndex = at;
  const m = MODEL_FIELD.exec(text);
  if (!m) return null;
  const raw = m[1]!;
  return raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
}
