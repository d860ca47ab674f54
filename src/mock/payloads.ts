// Response bodies and SSE frames of the mock upstream, in the shapes OpenAI sends. Pure: every
// value comes from the Reply, so the same request always produces the same bytes. Stream frames
// are produced lazily, one string per SSE event, so the server can write them one at a time.
import { embeddingsUsage, generatedText, responsesUsage, wordPiece, type MockUsage } from './usage.ts';

export interface Reply {
  id: string;
  /** Unix seconds. */
  created: number;
  /** The dated model id the "provider" answers with. */
  model: string;
  usage: MockUsage;
  finishReason: 'stop' | 'length';
  /** The request set `stream_options.include_usage: true`. */
  includeUsage: boolean;
}

const DONE_FRAME = 'data: [DONE]\n\n';

function dataFrame(json: string): string {
  return `data: ${json}\n\n`;
}

// The chat answers are the benchmark hot path: built as strings, not objects run through
// JSON.stringify, which was the largest cost per request. Only the model id is caller-supplied.
function chatUsageJson(u: MockUsage): string {
  return (
    `{"prompt_tokens":${u.promptTokens},"completion_tokens":${u.completionTokens},"total_tokens":${u.promptTokens + u.completionTokens},` +
    `"prompt_tokens_details":{"cached_tokens":${u.cachedTokens},"audio_tokens":0},` +
    `"completion_tokens_details":{"reasoning_tokens":${u.reasoningTokens},"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`
  );
}

export function chatCompletionJson(r: Reply): string {
  const message = `{"role":"assistant","content":${JSON.stringify(generatedText(r.usage.completionTokens))},"refusal":null,"annotations":[]}`;
  return (
    `{"id":${JSON.stringify(r.id)},"object":"chat.completion","created":${r.created},"model":${JSON.stringify(r.model)},` +
    `"choices":[{"index":0,"message":${message},"logprobs":null,"finish_reason":"${r.finishReason}"}],` +
    `"usage":${chatUsageJson(r.usage)},"service_tier":"default","system_fingerprint":"fp_mock"}`
  );
}

/** One chunk per word (the first also carries the role), a finish chunk, the usage chunk only when asked, [DONE]. */
export function* chatChunks(r: Reply): Generator<string> {
  // Everything but the delta is the same in every chunk: serialise it once.
  const head = `{"id":${JSON.stringify(r.id)},"object":"chat.completion.chunk","created":${r.created},"model":${JSON.stringify(r.model)},"system_fingerprint":"fp_mock","choices":`;
  const tail = r.includeUsage ? ',"usage":null}' : '}';
  for (let i = 0; i < r.usage.completionTokens; i++) {
    const delta = i === 0 ? `{"role":"assistant","content":${JSON.stringify(wordPiece(i))}}` : `{"content":${JSON.stringify(wordPiece(i))}}`;
    yield dataFrame(`${head}[{"index":0,"delta":${delta},"logprobs":null,"finish_reason":null}]${tail}`);
  }
  yield dataFrame(`${head}[{"index":0,"delta":{},"logprobs":null,"finish_reason":"${r.finishReason}"}]${tail}`);
  if (r.includeUsage) yield dataFrame(`${head}[],"usage":${chatUsageJson(r.usage)}}`);
  yield DONE_FRAME;
}

function completionsUsage(u: MockUsage) {
  return { prompt_tokens: u.promptTokens, completion_tokens: u.completionTokens, total_tokens: u.promptTokens + u.completionTokens };
}

export function textCompletion(r: Reply) {
  return {
    id: r.id,
    object: 'text_completion',
    created: r.created,
    model: r.model,
    choices: [{ text: generatedText(r.usage.completionTokens), index: 0, logprobs: null, finish_reason: r.finishReason }],
    usage: completionsUsage(r.usage),
  };
}

export function* textCompletionChunks(r: Reply): Generator<string> {
  const head = `{"id":${JSON.stringify(r.id)},"object":"text_completion","created":${r.created},"model":${JSON.stringify(r.model)},"choices":`;
  const tail = r.includeUsage ? ',"usage":null}' : '}';
  for (let i = 0; i < r.usage.completionTokens; i++) {
    yield dataFrame(`${head}[{"text":${JSON.stringify(wordPiece(i))},"index":0,"logprobs":null,"finish_reason":null}]${tail}`);
  }
  yield dataFrame(`${head}[{"text":"","index":0,"logprobs":null,"finish_reason":"${r.finishReason}"}]${tail}`);
  if (r.includeUsage) yield dataFrame(`${head}[],"usage":${JSON.stringify(completionsUsage(r.usage))}}`);
  yield DONE_FRAME;
}

/** A small deterministic vector per input, derived from its text so different inputs differ. */
function vectorFor(input: unknown, dimensions: number): number[] {
  const seed = typeof input === 'string' ? input : JSON.stringify(input) ?? '';
  let h = 2166136261;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 16777619);
  const out: number[] = [];
  for (let d = 0; d < dimensions; d++) {
    h = Math.imul(h ^ (h >>> 15), 2246822507) >>> 0;
    out.push(Math.fround((h / 0xffffffff) * 2 - 1));
  }
  return out;
}

/** The inputs an embeddings body names: one string, a token array, or a list of either. */
function embeddingInputs(input: unknown): unknown[] {
  if (!Array.isArray(input) || input.length === 0 || typeof input[0] === 'number') return [input];
  return input;
}

export function embeddings(r: Reply, input: unknown, dimensions: number, base64: boolean) {
  return {
    object: 'list',
    data: embeddingInputs(input).map((item, index) => {
      const vector = vectorFor(item, dimensions);
      // The official client asks for base64 by default: little-endian float32, as OpenAI sends.
      const embedding = base64 ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector;
      return { object: 'embedding', index, embedding };
    }),
    model: r.model,
    usage: embeddingsUsage(r.usage),
  };
}

function messageItem(r: Reply, text: string, status: 'in_progress' | 'completed') {
  const content = status === 'completed' ? [{ type: 'output_text', text, annotations: [], logprobs: [] }] : [];
  return { id: `msg_${r.id}`, type: 'message', status, role: 'assistant', content };
}

function response(r: Reply, status: 'in_progress' | 'completed') {
  return {
    id: `resp_${r.id}`,
    object: 'response',
    created_at: r.created,
    status,
    error: null,
    incomplete_details: null,
    model: r.model,
    // No `output_text` here: that is a convenience the SDKs compute, the API does not send it.
    output: status === 'completed' ? [messageItem(r, generatedText(r.usage.completionTokens), 'completed')] : [],
    parallel_tool_calls: true,
    tool_choice: 'auto',
    tools: [],
    usage: status === 'completed' ? responsesUsage(r.usage) : null,
  };
}

export function responsesResponse(r: Reply) {
  return response(r, 'completed');
}

/** The Responses API event sequence for one text message, ending with response.completed (usage). */
export function* responsesEvents(r: Reply): Generator<string> {
  let seq = 0;
  const frame = (type: string, fields: Record<string, unknown>): string =>
    `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...fields })}\n\n`;
  const itemId = `msg_${r.id}`;
  const at = { item_id: itemId, output_index: 0, content_index: 0 };
  yield frame('response.created', { response: response(r, 'in_progress') });
  yield frame('response.in_progress', { response: response(r, 'in_progress') });
  yield frame('response.output_item.added', { output_index: 0, item: messageItem(r, '', 'in_progress') });
  yield frame('response.content_part.added', { ...at, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } });
  for (let i = 0; i < r.usage.completionTokens; i++) {
    yield frame('response.output_text.delta', { ...at, delta: wordPiece(i), logprobs: [] });
  }
  const text = generatedText(r.usage.completionTokens);
  yield frame('response.output_text.done', { ...at, text, logprobs: [] });
  yield frame('response.content_part.done', { ...at, part: { type: 'output_text', text, annotations: [], logprobs: [] } });
  yield frame('response.output_item.done', { output_index: 0, item: messageItem(r, text, 'completed') });
  yield frame('response.completed', { response: response(r, 'completed') });
}

const MODEL_IDS = ['gpt-4o', 'gpt-4o-mini', 'gpt-5', 'gpt-5-mini', 'o4-mini', 'text-embedding-3-small', 'text-embedding-3-large'];

export function model(id: string) {
  return { id, object: 'model', created: 1735689600, owned_by: 'mock-upstream' };
}

export const MODELS_BODY = JSON.stringify({ object: 'list', data: MODEL_IDS.map(model) });

const ERROR_TYPES: Record<number, [type: string, code: string | null]> = {
  400: ['invalid_request_error', null],
  401: ['authentication_error', 'invalid_api_key'],
  403: ['permission_error', null],
  404: ['not_found_error', 'model_not_found'],
  408: ['timeout_error', null],
  409: ['conflict_error', null],
  413: ['invalid_request_error', 'request_too_large'],
  422: ['invalid_request_error', null],
  429: ['rate_limit_error', 'rate_limit_exceeded'],
};

/** The OpenAI-shaped error body an injected failure answers with. */
export function injectedError(status: number) {
  const [type, code] = ERROR_TYPES[status] ?? (status >= 500 ? ['server_error', 'server_error'] : ['invalid_request_error', null]);
  return { error: { message: `mock upstream: injected error ${status}`, type, param: null, code } };
}
