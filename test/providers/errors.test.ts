import { test } from 'node:test';
import assert from 'node:assert/strict';
import { upstreamError } from '../../src/providers/errors.ts';
import { toOpenAIError } from '../../src/errors.ts';

test('provider error bodies of every common shape become the OpenAI error shape with the status kept', () => {
  const openai = upstreamError(400, JSON.stringify({ error: { message: 'bad param', type: 'invalid_request_error', param: 'temperature', code: 'invalid_value' } }), {}, 'openai');
  assert.deepEqual(toOpenAIError(openai), { status: 400, body: { error: { message: 'bad param', type: 'invalid_request_error', param: 'temperature', code: 'invalid_value' } } });

  const anthropic = upstreamError(529, JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }), {}, 'anthropic');
  assert.deepEqual(toOpenAIError(anthropic).body.error, { message: 'Overloaded', type: 'overloaded_error', param: null, code: null });
  assert.equal(toOpenAIError(anthropic).status, 529);

  const bare = upstreamError(503, JSON.stringify({ error: 'upstream down' }), {}, 'local');
  assert.equal(bare.message, 'upstream down');
  assert.equal(bare.type, 'api_error');

  const text = upstreamError(502, '<html>Bad Gateway</html>', {}, 'local');
  assert.equal(text.message, '<html>Bad Gateway</html>');
  const empty = upstreamError(500, '', {}, 'groq');
  assert.equal(empty.message, 'Provider groq answered HTTP 500');

  const limited = upstreamError(429, '{"error":{"message":"slow down"}}', { 'retry-after': '7' }, 'openai');
  assert.equal(limited.type, 'rate_limit_error');
  assert.equal(limited.retryAfter, '7');
});
