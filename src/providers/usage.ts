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
