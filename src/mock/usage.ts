// How the mock upstream turns a request body into token counts and generated text. The rule is
// fixed and documented so a test can predict every number a real provider would only estimate:
//   prompt_tokens     = ceil(characters of all prompt text / 4), at least 1
//   completion_tokens = body `mock_completion_tokens` (a short answer to a request that allows a
//                       long one, as real ones mostly are), else max_tokens ??
//                       max_completion_tokens ?? max_output_tokens ?? 16
//   cached / reasoning = body `mock_cached_tokens` / `mock_reasoning_tokens` (default 0), capped at
//                        prompt / completion tokens because a provider never reports more.
import { InvalidRequestError } from '../errors.ts';

export const DEFAULT_COMPLETION_TOKENS = 16;
/** Above this the mock refuses: the text would be built in memory, one word per token. */
export const MAX_COMPLETION_TOKENS = 100_000;

export interface MockUsage {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
}

type Body = Record<string, unknown>;

/**
 * Characters of prompt text in any OpenAI input shape: strings, arrays of them, chat messages
 * (`content`), content parts (`text`), Responses input items. A number is a pre-tokenised input
 * token and counts as 4 characters, so it ends up as exactly one prompt token.
 */
export function textChars(value: unknown): number {
  if (typeof value === 'string') return value.length;
  if (typeof value === 'number') return 4;
  if (Array.isArray(value)) {
    let n = 0;
    for (const item of value) n += textChars(item);
    return n;
  }
  if (typeof value === 'object' && value !== null) {
    const o = value as Body;
    if (typeof o.text === 'string') return o.text.length;
    if (o.content !== undefined) return textChars(o.content);
  }
  return 0;
}

export function tokensFromChars(chars: number): number {
  return Math.max(1, Math.ceil(chars / 4));
}

export type MockEndpoint = 'chat' | 'completions' | 'embeddings' | 'responses';

export function promptChars(endpoint: MockEndpoint, body: Body): number {
  switch (endpoint) {
    case 'chat':
      return textChars(body.messages);
    case 'completions':
      return textChars(body.prompt);
    case 'embeddings':
      return textChars(body.input);
    case 'responses':
      return textChars(body.input) + (typeof body.instructions === 'string' ? body.instructions.length : 0);
  }
}

/** A non-negative integer field, or undefined when absent or null; anything else is a 400. */
export function intField(body: Body, name: string, min = 0): number | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new InvalidRequestError(`'${name}' must be an integer >= ${min}`, { param: name });
  }
  return v;
}

/** The completion length the request asked for, and whether it asked at all (finish_reason). */
export function requestedCompletionTokens(body: Body): { tokens: number; limited: boolean } {
  const asked = intField(body, 'max_tokens', 1) ?? intField(body, 'max_completion_tokens', 1) ?? intField(body, 'max_output_tokens', 1);
  const answer = intField(body, 'mock_completion_tokens', 1);
  if (answer !== undefined) {
    if (answer > MAX_COMPLETION_TOKENS) throw new InvalidRequestError(`the mock upstream generates at most ${MAX_COMPLETION_TOKENS} tokens`, { param: 'mock_completion_tokens' });
    return { tokens: asked === undefined ? answer : Math.min(answer, asked), limited: asked !== undefined && answer >= asked };
  }
  if (asked !== undefined && asked > MAX_COMPLETION_TOKENS) {
    throw new InvalidRequestError(`the mock upstream generates at most ${MAX_COMPLETION_TOKENS} tokens`, { param: 'max_tokens' });
  }
  return { tokens: asked ?? DEFAULT_COMPLETION_TOKENS, limited: asked !== undefined };
}

export function usageFor(endpoint: MockEndpoint, body: Body): { usage: MockUsage; limited: boolean } {
  const promptTokens = tokensFromChars(promptChars(endpoint, body));
  const cachedTokens = Math.min(intField(body, 'mock_cached_tokens') ?? 0, promptTokens);
  if (endpoint === 'embeddings') {
    return { usage: { promptTokens, completionTokens: 0, cachedTokens, reasoningTokens: 0 }, limited: false };
  }
  const { tokens, limited } = requestedCompletionTokens(body);
  const reasoningTokens = Math.min(intField(body, 'mock_reasoning_tokens') ?? 0, tokens);
  return { usage: { promptTokens, completionTokens: tokens, cachedTokens, reasoningTokens }, limited };
}

const DATE_SUFFIX = /-(\d{4}-\d{2}-\d{2}|\d{8})$/;

/** Providers answer with a dated snapshot id (`gpt-4o` -> `gpt-4o-2024-08-06`); so does the mock. */
export function datedModel(model: string): string {
  return DATE_SUFFIX.test(model) ? model : `${model}-2025-01-01`;
}

const WORDS = ['lorem', 'ipsum', 'dolor', 'sit', 'amet', 'elit', 'sed', 'do'] as const;

/** The i-th generated word, as a stream piece: words after the first carry their leading space. */
export function wordPiece(i: number): string {
  const word = WORDS[i % WORDS.length]!;
  return i === 0 ? word : ` ${word}`;
}

const textCache: string[] = [];

/** `count` short words separated by spaces: the concatenation of wordPiece(0..count-1). */
export function generatedText(count: number): string {
  const cached = textCache[count];
  if (cached !== undefined) return cached;
  let text = '';
  for (let i = 0; i < count; i++) text += wordPiece(i);
  // Usual lengths repeat across requests; huge ones are rare and not worth holding on to.
  if (count <= 4096) textCache[count] = text;
  return text;
}

export function responsesUsage(u: MockUsage) {
  return {
    input_tokens: u.promptTokens,
    input_tokens_details: { cached_tokens: u.cachedTokens },
    output_tokens: u.completionTokens,
    output_tokens_details: { reasoning_tokens: u.reasoningTokens },
    total_tokens: u.promptTokens + u.completionTokens,
  };
}

export function embeddingsUsage(u: MockUsage) {
  return { prompt_tokens: u.promptTokens, total_tokens: u.promptTokens };
}
