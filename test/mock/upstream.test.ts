import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { startMockUpstream, type MockUpstream } from '../../src/mock/upstream.ts';

const FIXED_NOW = Date.UTC(2026, 0, 2, 3, 4, 5);

let upstream: MockUpstream;
let client: OpenAI;

before(async () => {
  upstream = await startMockUpstream({ clock: () => FIXED_NOW });
  client = new OpenAI({ baseURL: upstream.url, apiKey: 'sk-test', maxRetries: 0 });
});

after(async () => {
  await upstream.close();
});

function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${upstream.url.replace(/\/v1$/, '')}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** SSE `data:` payloads of a finished stream body, in order. */
function dataLines(text: string): string[] {
  return text
    .split('\n\n')
    .filter((frame) => frame.length > 0)
    .map((frame) => frame.split('\n').find((line) => line.startsWith('data: '))!.slice(6));
}

describe('chat completions', () => {
  test('usage follows the 4-characters-per-token rule and max_tokens, with cached and reasoning details', async () => {
    const completion = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: 'You are terse.' }, // 14 characters
        { role: 'user', content: [{ type: 'text', text: 'abcdefghijk' }] }, // 11 characters
      ],
      max_tokens: 5,
      // @ts-expect-error mock-only fields
      mock_cached_tokens: 4,
      mock_reasoning_tokens: 2,
    });
    assert.equal(completion.model, 'gpt-4o-2025-01-01');
    assert.equal(completion.object, 'chat.completion');
    assert.equal(completion.created, Math.floor(FIXED_NOW / 1000));
    assert.equal(completion.choices[0]!.message.content, 'lorem ipsum dolor sit amet');
    assert.equal(completion.choices[0]!.finish_reason, 'length');
    assert.deepEqual(completion.usage, {
      prompt_tokens: 7, // ceil(25 / 4)
      completion_tokens: 5,
      total_tokens: 12,
      prompt_tokens_details: { cached_tokens: 4, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 2, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    });
    assert.equal(upstream.lastRequest?.path, '/v1/chat/completions');
    assert.equal(upstream.lastRequest?.headers.authorization, 'Bearer sk-test');
    assert.equal((upstream.lastRequest?.body as { max_tokens: number }).max_tokens, 5);
  });

  test('without a limit 16 words are generated; a dated model id is kept; the /v1 prefix is optional', async () => {
    const res = await post('/chat/completions', { model: 'gpt-4o-2024-08-06', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { model: string; choices: { message: { content: string }; finish_reason: string }[]; usage: { prompt_tokens: number; completion_tokens: number } };
    assert.equal(body.model, 'gpt-4o-2024-08-06');
    assert.equal(body.choices[0]!.message.content.split(' ').length, 16);
    assert.equal(body.choices[0]!.finish_reason, 'stop');
    assert.equal(body.usage.prompt_tokens, 1);
    assert.equal(body.usage.completion_tokens, 16);
    assert.equal(upstream.lastRequest?.path, '/chat/completions');
  });

  test('max_completion_tokens sets the completion length and cached/reasoning are capped at their totals', async () => {
    const completion = await client.chat.completions.create({
      model: 'o4-mini',
      messages: [{ role: 'user', content: 'abcd' }],
      max_completion_tokens: 3,
      // @ts-expect-error mock-only fields
      mock_cached_tokens: 50,
      mock_reasoning_tokens: 50,
    });
    assert.equal(completion.usage?.prompt_tokens_details?.cached_tokens, 1);
    assert.equal(completion.usage?.completion_tokens, 3);
    assert.equal(completion.usage?.completion_tokens_details?.reasoning_tokens, 3);
  });

  test('a stream sends one chunk per word and a finish chunk, and no usage chunk unless asked', async () => {
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'abcdefgh' }], max_tokens: 4, stream: true });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.equal(chunks.length, 5);
    assert.equal(chunks.map((c) => c.choices[0]?.delta.content ?? '').join(''), 'lorem ipsum dolor sit');
    assert.equal(chunks[0]!.choices[0]!.delta.role, 'assistant');
    assert.equal(chunks[4]!.choices[0]!.finish_reason, 'length');
    assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk' && c.usage == null && c.model === 'gpt-4o-2025-01-01'));
  });

  test('a stream with include_usage ends with a choices-less usage chunk and then [DONE]', async () => {
    const res = await post('/v1/chat/completions', {
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'abcdefgh' }],
      max_tokens: 4,
      stream: true,
      stream_options: { include_usage: true },
      mock_cached_tokens: 1,
    });
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const text = await res.text();
    assert.ok(text.endsWith('data: [DONE]\n\n'));
    const payloads = dataLines(text);
    assert.equal(payloads.length, 7); // 4 words, finish, usage, [DONE]
    const usageChunk = JSON.parse(payloads[5]!);
    assert.deepEqual(usageChunk.choices, []);
    assert.equal(usageChunk.usage.prompt_tokens, 2);
    assert.equal(usageChunk.usage.completion_tokens, 4);
    assert.equal(usageChunk.usage.prompt_tokens_details.cached_tokens, 1);
    assert.equal(JSON.parse(payloads[0]!).usage, null);
  });

  test('with a chunk delay every frame arrives as its own read', async () => {
    const res = await post('/v1/chat/completions', { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], max_tokens: 3, stream: true, mock_chunk_delay_ms: 25 });
    const reads: string[] = [];
    const decoder = new TextDecoder();
    for await (const part of res.body!) reads.push(decoder.decode(part));
    assert.equal(reads.length, 5); // 3 words, finish, [DONE]
    assert.ok(reads.every((r) => r.startsWith('data: ') && r.endsWith('\n\n')));
  });
});

describe('other endpoints', () => {
  test('legacy completions count every prompt string', async () => {
    const completion = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: ['abcd', 'efgh'], max_tokens: 2 });
    assert.equal(completion.choices[0]!.text, 'lorem ipsum');
    assert.deepEqual(completion.usage, { prompt_tokens: 2, completion_tokens: 2, total_tokens: 4 });
    assert.equal(completion.model, 'gpt-3.5-turbo-instruct-2025-01-01');
  });

  test('embeddings return one deterministic vector per input and prompt tokens only', async () => {
    const result = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['abcdefgh', 'abcd'] });
    assert.equal(result.data.length, 2);
    assert.equal(result.data[0]!.embedding.length, 8);
    assert.deepEqual(result.usage, { prompt_tokens: 3, total_tokens: 3 });
    assert.equal(result.model, 'text-embedding-3-small-2025-01-01');

    const res = await post('/v1/embeddings', { model: 'text-embedding-3-small', input: 'abcdefgh', dimensions: 4, encoding_format: 'float' });
    const floats = (await res.json()) as { data: { embedding: number[] }[] };
    assert.equal(floats.data[0]!.embedding.length, 4);
    // Same input, same vector, whichever encoding carried it.
    assert.deepEqual(floats.data[0]!.embedding, result.data[0]!.embedding.slice(0, 4));
  });

  test('responses answer with Responses API usage, counting instructions and input items', async () => {
    const response = await client.responses.create({
      model: 'gpt-5',
      instructions: 'abcd',
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'efghijkl' }] }],
      max_output_tokens: 3,
      // @ts-expect-error mock-only fields
      mock_cached_tokens: 1,
      mock_reasoning_tokens: 1,
    });
    assert.equal(response.model, 'gpt-5-2025-01-01');
    assert.equal(response.output_text, 'lorem ipsum dolor');
    assert.deepEqual(response.usage, {
      input_tokens: 3,
      input_tokens_details: { cached_tokens: 1 },
      output_tokens: 3,
      output_tokens_details: { reasoning_tokens: 1 },
      total_tokens: 6,
    });
  });

  test('a responses stream emits the event sequence and response.completed carries usage', async () => {
    const stream = client.responses.stream({ model: 'gpt-5', input: 'abcdefgh', max_output_tokens: 2 });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    const final = await stream.finalResponse();
    assert.deepEqual(types, [
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    assert.equal(final.output_text, 'lorem ipsum');
    assert.equal(final.usage?.input_tokens, 2);
    assert.equal(final.usage?.output_tokens, 2);
    assert.equal(final.usage?.total_tokens, 4);
  });

  test('models are listed with and without the /v1 prefix', async () => {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    assert.ok(ids.includes('gpt-4o-mini'));
    const res = await fetch(`${upstream.url.replace(/\/v1$/, '')}/models`);
    const body = (await res.json()) as { object: string; data: { id: string }[] };
    assert.equal(body.object, 'list');
    assert.deepEqual(body.data.map((m) => m.id), ids);
    assert.equal((await client.models.retrieve('gpt-5')).id, 'gpt-5');
  });
});

describe('injected failures', () => {
  test('a model named error-429 answers 429 with an OpenAI error body and retry-after', async () => {
    const res = await post('/v1/chat/completions', { model: 'error-429', messages: [] });
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.deepEqual(await res.json(), {
      error: { message: 'mock upstream: injected error 429', type: 'rate_limit_error', param: null, code: 'rate_limit_exceeded' },
    });
  });

  test('the x-mock-error header injects a status and the SDK surfaces it', async () => {
    const res = await post('/v1/embeddings', { model: 'text-embedding-3-small', input: 'x' }, { 'x-mock-error': '503' });
    assert.equal(res.status, 503);
    assert.equal(((await res.json()) as { error: { type: string } }).error.type, 'server_error');

    await assert.rejects(
      client.chat.completions.create({ model: 'error-500', messages: [{ role: 'user', content: 'x' }] }),
      (err: unknown) => err instanceof OpenAI.InternalServerError && err.status === 500,
    );
    await assert.rejects(client.responses.create({ model: 'error-401', input: 'x' }), (err: unknown) => err instanceof OpenAI.AuthenticationError);
  });

  test('invalid JSON, unknown paths, wrong methods and bad mock fields are OpenAI-shaped client errors', async () => {
    const bad = await post('/v1/chat/completions', '{"model":');
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { type: string } }).error.type, 'invalid_request_error');
    assert.equal(upstream.lastRequest?.body, '{"model":');

    assert.equal((await post('/v1/nope', {})).status, 404);
    assert.equal((await fetch(`${upstream.url}/chat/completions`)).status, 405);
    const badStatus = await post('/v1/chat/completions', { model: 'error-abc', messages: [] });
    assert.equal(badStatus.status, 400);
    const badTokens = await post('/v1/chat/completions', { model: 'gpt-4o', messages: [], max_tokens: 'many' });
    assert.equal(((await badTokens.json()) as { error: { param: string } }).error.param, 'max_tokens');
  });

  test('mock_latency_ms delays the answer', async () => {
    const started = performance.now();
    const res = await post('/v1/chat/completions', { model: 'gpt-4o', messages: [], mock_latency_ms: 60 });
    await res.json();
    assert.ok(performance.now() - started >= 55, 'answered before the latency elapsed');
  });

  test('mock_abort_after_chunks cuts the stream after N frames', async () => {
    const res = await post('/v1/chat/completions', { model: 'gpt-4o', messages: [], max_tokens: 10, stream: true, mock_abort_after_chunks: 2 });
    assert.equal(res.status, 200);
    let received = '';
    const decoder = new TextDecoder();
    await assert.rejects(async () => {
      for await (const part of res.body!) received += decoder.decode(part);
    });
    assert.equal(dataLines(received).length, 2);
    assert.equal(received.includes('[DONE]'), false);
  });

  test('mock_abort_after_chunks on a non-stream request drops the connection without an answer', async () => {
    await assert.rejects(post('/v1/chat/completions', { model: 'gpt-4o', messages: [], mock_abort_after_chunks: 1 }));
  });
});

describe('server lifecycle', () => {
  test('counts requests, reports its URL and closes with keep-alive connections open', async () => {
    const own = await startMockUpstream();
    try {
      assert.match(own.url, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
      assert.equal(own.url, `http://127.0.0.1:${own.port}/v1`);
      assert.equal(own.requests, 0);
      const initial = own.lastRequest;
      assert.equal(initial, null);
      await (await fetch(`${own.url}/models`)).json();
      await (await fetch(`${own.url}/models`)).json();
      assert.equal(own.requests, 2);
      assert.equal(own.lastRequest?.body, null);
      // A stream held open by a slow chunk delay must not keep close() waiting.
      const slow = await fetch(`${own.url}/chat/completions`, {
        method: 'POST',
        body: JSON.stringify({ model: 'gpt-4o', messages: [], stream: true, mock_chunk_delay_ms: 60_000 }),
      });
      const reader = slow.body!.getReader();
      await reader.read();
      await own.close();
      await assert.rejects(reader.read());
      await assert.rejects(fetch(`${own.url}/models`));
    } finally {
      await own.close();
    }
  });
});
