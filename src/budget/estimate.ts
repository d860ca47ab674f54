// A request's worst-case cost before it is sent, for budget reservations (docs/budgets.md,
// "Reservations"). No tokenizer: the input is bounded from the body's size, the output from what
// the request asks for, capped. Pure functions of (body, size, model, price, cap).
import type { ModelPrice } from '../spend/pricing.ts';

/** Output tokens counted when neither the request nor the price table names a limit. */
export const DEFAULT_OUTPUT_TOKENS = 16_384;
/** More choices than this (`n`) are counted as this many: the provider refuses more anyway. */
const MAX_CHOICES = 128;

/**
 * Fewest body bytes per token, by model family. A byte-level BPE token (OpenAI, Anthropic,
 * Gemini) always covers at least one byte of text, and the JSON around the text only adds bytes,
 * so 1 is a bound for any model. For the families below real text never comes close: English
 * and code run at 3-4 bytes per token, and the worst common case, CJK text sent as raw UTF-8
 * (3 bytes per character), at no more than 2 tokens per character, is 1.5.
 */
const FAMILIES: readonly [RegExp, number][] = [
  [/claude/, 1.5],
  [/(^|\/)(gpt|o\d|chatgpt|codex|text-embedding|davinci|babbage)/, 1.5],
  [/gemini|gemma/, 1.5],
];
const ANY_MODEL_BYTES_PER_TOKEN = 1;

const familyMemo = new Map<string, number>();

export function bytesPerToken(model: string): number {
  let v = familyMemo.get(model);
  if (v !== undefined) return v;
  const m = model.toLowerCase();
  v = ANY_MODEL_BYTES_PER_TOKEN;
  for (const [re, bytes] of FAMILIES) {
    if (re.test(m)) {
      v = bytes;
      break;
    }
  }
  if (familyMemo.size > 4096) familyMemo.clear();
  familyMemo.set(model, v);
  return v;
}

function positiveInt(v: unknown): number | null {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : null;
}

/** The output limit the request asks for (`max_completion_tokens`, `max_tokens`, `max_output_tokens`), or null. */
export function requestedOutputTokens(body: Readonly<Record<string, unknown>>): number | null {
  return positiveInt(body.max_completion_tokens) ?? positiveInt(body.max_tokens) ?? positiveInt(body.max_output_tokens);
}

export interface EstimateInput {
  /** The request body as the client sent it, in bytes. */
  bodyBytes: number;
  body: Readonly<Record<string, unknown>>;
  /** The model id sent upstream (its family sets the bytes-per-token bound). */
  model: string;
  price: ModelPrice;
  /** Whether the endpoint produces output tokens at all (embeddings do not). */
  producesOutput: boolean;
  /** budgets.reservation_output_tokens_cap; 0 = no cap. */
  outputTokensCap: number;
}

export interface CostEstimate {
  /** USD reserved for the request. */
  total: number;
  /** The input part alone: what a request that ends without usage is counted at. */
  input: number;
  inputTokens: number;
  outputTokens: number;
}

/**
 * The reservation for one request: every input token at the dearest input-side rate (a cache
 * write costs more than plain input), every output token at the dearer of output and reasoning,
 * times the number of choices. Output tokens are the smallest of what the request asks for, the
 * model's output limit and the configured cap (DEFAULT_OUTPUT_TOKENS when none of them is known).
 */
export function estimateCost(e: EstimateInput): CostEstimate {
  const p = e.price;
  const inputTokens = Math.ceil(e.bodyBytes / bytesPerToken(e.model));
  // The dearest rates of the base price and of every long-context tier the prompt might reach.
  const cards = [p, ...(p.tiers ?? []).map((t) => t.rates)];
  const inputRate = Math.max(...cards.map((c) => Math.max(c.input, c.cache_write ?? 0, c.cache_write_1h ?? 0, c.cached_input ?? 0)));
  let outputTokens = 0;
  if (e.producesOutput) {
    let limit = requestedOutputTokens(e.body) ?? Number.POSITIVE_INFINITY;
    if (p.max_output_tokens !== undefined) limit = Math.min(limit, p.max_output_tokens);
    if (e.outputTokensCap > 0) limit = Math.min(limit, e.outputTokensCap);
    outputTokens = Number.isFinite(limit) ? limit : DEFAULT_OUTPUT_TOKENS;
    const n = positiveInt(e.body.n);
    if (n !== null) outputTokens *= Math.min(n, MAX_CHOICES);
  }
  const outputRate = Math.max(...cards.map((c) => Math.max(c.output, c.reasoning ?? 0)));
  const input = inputTokens * inputRate;
  return { total: input + outputTokens * outputRate, input, inputTokens, outputTokens };
}
