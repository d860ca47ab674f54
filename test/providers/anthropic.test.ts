import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BudgetExceededError, InvalidAttributionError, UpstreamError, UpstreamTimeoutError } from '../../src/errors.ts';
import { claudeCodeUser, mergeMessagesUsage, messagesUsage, toAnthropicError } from '../../src/providers/anthropic.ts';

test('a Messages usage object counts every input token in prompt_tokens and the 1-hour writes apart', () => {
  const u = messagesUsage({
    input_tokens: 1234,
    cache_read_input_tokens: 50_000,
    cache_creation_input_tokens: 10_000,
    cache_creation: { ephemeral_5m_input_tokens: 3000, ephemeral_1h_input_tokens: 7000 },
    output_tokens: 812,
    output_tokens_details: { thinking_tokens: 300 },
  });
  assert.deepEqual(u, {
    prompt_tokens: 61_234,
    completion_tokens: 812,
    total_tokens: 62_046,
    cached_tokens: 50_000,
    cache_write_tokens: 10_000,
    cache_write_1h_tokens: 7000,
    reasoning_tokens: 300,
  });
});

test('without the split every write counts as 5-minute; a split larger than the total wins; junk is 0', () => {
  assert.equal(messagesUsage({ input_tokens: 10, cache_creation_input_tokens: 40, output_tokens: 1 })!.cache_write_1h_tokens, 0);
  const bigger = messagesUsage({ input_tokens: 10, cache_creation_input_tokens: 5, cache_creation: { ephemeral_1h_input_tokens: 20 }, output_tokens: 1 })!;
  assert.equal(bigger.cache_write_tokens, 20);
  assert.equal(bigger.prompt_tokens, 30);
  assert.deepEqual(messagesUsage({ input_tokens: -3, output_tokens: 'x' })!.prompt_tokens, 0);
  assert.equal(messagesUsage(null), null);
});

test('stream usage: message_start gives the input side, the last message_delta the final counts', () => {
  let u = mergeMessagesUsage(null, { input_tokens: 100, cache_read_input_tokens: 900, cache_creation: { ephemeral_1h_input_tokens: 50 }, cache_creation_input_tokens: 50, output_tokens: 1 });
  u = mergeMessagesUsage(u, { output_tokens: 20 });
  u = mergeMessagesUsage(u, { output_tokens: 45, cache_read_input_tokens: null });
  assert.deepEqual(messagesUsage(u), {
    prompt_tokens: 1050, completion_tokens: 45, total_tokens: 1095, cached_tokens: 900, cache_write_tokens: 50, cache_write_1h_tokens: 50, reasoning_tokens: 0,
  });
});

test("Claude Code's user id: the account, else the device, and the session; other ids are not Claude Code's", () => {
  const json = (o: object) => JSON.stringify(o);
  assert.deepEqual(claudeCodeUser(json({ device_id: 'dev', account_uuid: 'acc', session_id: 's1' })), { user: 'acc', sessionId: 's1' });
  assert.deepEqual(claudeCodeUser(json({ device_id: 'dev', account_uuid: '', session_id: 's1' })), { user: 'dev', sessionId: 's1' });
  assert.deepEqual(claudeCodeUser('user_abc123_account_8a1f-22_session_5b7e-1'), { user: '8a1f-22', sessionId: '5b7e-1' });
  assert.deepEqual(claudeCodeUser('user_abc123_account__session_5b7e-1'), { user: 'abc123', sessionId: '5b7e-1' });
  assert.equal(claudeCodeUser('customer_7'), null);
  assert.equal(claudeCodeUser('{"name":"x"}'), null);
  assert.equal(claudeCodeUser('{not json'), null);
});

test("errors in Anthropic's shape: types by status, a provider's own type kept when it is Anthropic's", () => {
  assert.deepEqual(toAnthropicError(new InvalidAttributionError('bad tag')), { status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: 'bad tag' } } });
  assert.equal(toAnthropicError(new BudgetExceededError('Tag', 'team:x', 2, 1, 60)).body.error.type, 'rate_limit_error');
  assert.equal(toAnthropicError(new UpstreamTimeoutError('slow')).body.error.type, 'timeout_error');
  assert.equal(toAnthropicError(new UpstreamError(529, 'Overloaded', 'overloaded_error', null, null)).body.error.type, 'overloaded_error');
  assert.equal(toAnthropicError(new UpstreamError(400, 'x', 'invalid_request', null, null)).body.error.type, 'invalid_request_error');
  assert.deepEqual(toAnthropicError(new Error('boom')), { status: 500, body: { type: 'error', error: { type: 'api_error', message: 'internal proxy error' } } });
});
