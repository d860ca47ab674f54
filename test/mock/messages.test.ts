// The simulated provider's Anthropic Messages API, seen with the official SDK pointed straight at it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { startMockUpstream, type MockUpstream } from '../../src/mock/upstream.ts';

let upstream: MockUpstream;
let client: Anthropic;

before(async () => {
  upstream = await startMockUpstream();
  client = new Anthropic({ baseURL: upstream.url.replace(/\/v1$/, ''), apiKey: 'sk-ant-test', maxRetries: 0 });
});

after(async () => {
  await upstream.close();
});

const SYSTEM = 'You are a careful assistant. '.repeat(100); // 2,900 characters: 725 tokens

describe('messages', () => {
  test('prompt caching by cache_control: the first request writes the prefix, the next one reads it', async () => {
    const body = (question: string, ttl?: '1h') => ({
      model: 'claude-haiku-4-5',
      max_tokens: 100,
      system: [{ type: 'text' as const, text: SYSTEM, cache_control: { type: 'ephemeral' as const, ...(ttl ? { ttl } : {}) } }],
      messages: [{ role: 'user' as const, content: question }],
    });
    const first = await client.messages.create(body('What is the first question?'));
    assert.equal(first.usage.cache_creation_input_tokens, 725);
    assert.equal(first.usage.cache_read_input_tokens, 0);
    assert.equal(first.usage.input_tokens, Math.ceil((SYSTEM.length + 'What is the first question?'.length) / 4) - 725);
    assert.equal(first.usage.output_tokens, 12);
    assert.equal(first.stop_reason, 'end_turn');
    const second = await client.messages.create(body('And what is the second one?'));
    assert.equal(second.usage.cache_read_input_tokens, 725);
    assert.equal(second.usage.cache_creation_input_tokens, 0);
    const hour = await client.messages.create(body('Cache me for an hour', '1h'));
    assert.deepEqual(hour.usage.cache_creation, { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 725 });
  });

  test("the stream is Anthropic's event sequence with usage in message_start and message_delta", async () => {
    const stream = client.messages.stream({ model: 'claude-opus-5-5', max_tokens: 5, messages: [{ role: 'user', content: 'Say something long' }], mock_output_tokens: 8 } as never);
    const types: string[] = [];
    stream.on('streamEvent', (e) => types.push(e.type));
    const final = await stream.finalMessage();
    assert.deepEqual(types, ['message_start', 'content_block_start', ...Array(5).fill('content_block_delta'), 'content_block_stop', 'message_delta', 'message_stop']);
    assert.equal(final.usage.output_tokens, 5);
    assert.equal(final.stop_reason, 'max_tokens');
    assert.equal(final.model, 'claude-opus-5-5-20250101');
  });

  test('a [mock-tool:NAME {input}] request is answered with that tool call, and its result with text', async () => {
    const tools = [{ name: 'Read', description: 'Read a file', input_schema: { type: 'object' as const, properties: { file_path: { type: 'string' } } } }];
    const ask = { role: 'user' as const, content: 'Read it [mock-tool:Read {"file_path":"/tmp/a.md"}]' };
    const call = await client.messages.create({ model: 'claude-opus-5-5', max_tokens: 100, tools, messages: [ask] });
    assert.equal(call.stop_reason, 'tool_use');
    const use = call.content.find((c) => c.type === 'tool_use');
    assert.deepEqual(use && { name: use.name, input: use.input }, { name: 'Read', input: { file_path: '/tmp/a.md' } });
    const answer = await client.messages.create({
      model: 'claude-opus-5-5',
      max_tokens: 100,
      tools,
      messages: [ask, { role: 'assistant', content: call.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: use!.id, content: '# notes' }] }],
    });
    assert.equal(answer.stop_reason, 'end_turn');
    assert.ok(answer.content.every((c) => c.type === 'text'));
  });

  test('count_tokens, and injected errors in Anthropic\'s shape', async () => {
    const count = await client.messages.countTokens({ model: 'claude-opus-5-5', messages: [{ role: 'user', content: 'x'.repeat(40) }] });
    assert.equal(count.input_tokens, 10);
    const err = await client.messages.create({ model: 'error-529', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    assert.ok(err instanceof Anthropic.APIError);
    assert.equal(err.status, 529);
    assert.deepEqual(err.error, { type: 'error', error: { type: 'overloaded_error', message: 'mock upstream: injected error 529' } });
    const missing = await client.messages.create({ model: 'claude-opus-5-5', messages: [{ role: 'user', content: 'hi' }] } as never).catch((e: unknown) => e);
    assert.ok(missing instanceof Anthropic.BadRequestError);
  });
});
