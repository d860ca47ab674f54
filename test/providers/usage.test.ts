import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normaliseUsage, usageFromBody, usageFromBytes } from '../../src/providers/usage.ts';

const usageFromText = (text: string) => usageFromBytes(Buffer.from(text, 'utf8'));

const chat = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-4o-mini-2024-07-18',
  choices: [{ index: 0, message: { role: 'assistant', content: 'the "usage": {"prompt_tokens": 999} text and a } brace' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150, prompt_tokens_details: { cached_tokens: 100 }, completion_tokens_details: { reasoning_tokens: 10 } },
  service_tier: 'default',
  system_fingerprint: 'fp_1',
};

test('usage and model come from the text of a chat completion without being fooled by content', () => {
  for (const text of [JSON.stringify(chat), JSON.stringify(chat, null, 2)]) {
    const { usage, model } = usageFromText(text);
    assert.equal(model, 'gpt-4o-mini-2024-07-18');
    assert.deepEqual(usage, { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150, cached_tokens: 100, cache_write_tokens: 0, cache_write_1h_tokens: 0, reasoning_tokens: 10 });
    assert.deepEqual(usageFromText(text), usageFromBody(JSON.parse(text)));
  }
});

test('the Responses API shape and provider variants normalise to one usage', () => {
  const responses = { id: 'resp_1', object: 'response', model: 'gpt-5', output: [], usage: { input_tokens: 50, output_tokens: 20, total_tokens: 70, input_tokens_details: { cached_tokens: 5 }, output_tokens_details: { reasoning_tokens: 8 } } };
  assert.deepEqual(usageFromText(JSON.stringify(responses)).usage, { prompt_tokens: 50, completion_tokens: 20, total_tokens: 70, cached_tokens: 5, cache_write_tokens: 0, cache_write_1h_tokens: 0, reasoning_tokens: 8 });
  // DeepSeek reports cache hits on its own field; Anthropic-style cache writes are a subset of the prompt.
  assert.equal(normaliseUsage({ prompt_tokens: 100, completion_tokens: 1, prompt_cache_hit_tokens: 60 })!.cached_tokens, 60);
  assert.equal(normaliseUsage({ prompt_tokens: 100, completion_tokens: 1, cache_creation_input_tokens: 30, prompt_tokens_details: { cached_tokens: 60 } })!.cache_write_tokens, 30);
  // Inconsistent details never exceed their totals.
  assert.equal(normaliseUsage({ prompt_tokens: 10, completion_tokens: 5, completion_tokens_details: { reasoning_tokens: 50 } })!.reasoning_tokens, 5);
});

test('a body without a usage key falls back to a full parse; junk gives no usage', () => {
  assert.deepEqual(usageFromText(JSON.stringify({ model: 'm', data: [] })), { usage: null, model: 'm' });
  assert.deepEqual(usageFromText(JSON.stringify({ response: { model: 'r', usage: { input_tokens: 1, output_tokens: 2 } } })).usage?.total_tokens, 3);
  assert.deepEqual(usageFromText('not json'), { usage: null, model: null });
  assert.deepEqual(usageFromText('{"usage": {"prompt_tokens": 1'), { usage: null, model: null });
});

test('an escaped model id is decoded', () => {
  assert.equal(usageFromText('{"model":"org\\/model-1","usage":{"prompt_tokens":1,"completion_tokens":1}}').model, 'org/model-1');
});

test('usage is read from the raw bytes of an answer whose content has multi-byte characters and braces', () => {
  const withUnicode = { ...chat, choices: [{ index: 0, message: { role: 'assistant', content: 'é😀 } { \\ "usage": {"prompt_tokens": 7} ü' } }] };
  const bytes = Buffer.from(JSON.stringify(withUnicode));
  assert.deepEqual(usageFromBytes(bytes), usageFromBody(withUnicode));
  assert.equal(usageFromBytes(Buffer.from('{"model" : "m\\u00e9","usage" : {"prompt_tokens":2,"completion_tokens":3}}')).model, 'mé');
});
