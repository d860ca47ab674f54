// Session ids from the headers, in LiteLLM's order, with the Codex CLI's header last.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attribute } from '../../src/proxy/attribution.ts';
import { OPENAI_API } from '../../src/proxy/dialect.ts';
import { sessionFromHeaders } from '../../src/proxy/sessions.ts';

test("the session from the headers: LiteLLM's own, then its trace id, Claude Code's, any x-<vendor>-session-id holding an id, Codex's session-id", () => {
  const all = {
    'session-id': 'codex-thread-0001',
    'x-opencode-session-id': 'oc_7f3a9b21',
    'x-claude-code-session-id': 'cc-session-1',
    'x-litellm-trace-id': 'trace-1',
    'x-litellm-session-id': 'litellm-1',
  };
  const without = (...names: string[]) => Object.fromEntries(Object.entries(all).filter(([k]) => !names.includes(k)));
  assert.equal(sessionFromHeaders(all), 'litellm-1');
  assert.equal(sessionFromHeaders(without('x-litellm-session-id')), 'trace-1');
  assert.equal(sessionFromHeaders(without('x-litellm-session-id', 'x-litellm-trace-id')), 'cc-session-1');
  assert.equal(sessionFromHeaders(without('x-litellm-session-id', 'x-litellm-trace-id', 'x-claude-code-session-id')), 'oc_7f3a9b21');
  assert.equal(sessionFromHeaders({ 'session-id': 'codex-thread-0001' }), 'codex-thread-0001');
  // A vendor header must hold an id (8+ letters, digits, - or _), not free text or a short value.
  assert.equal(sessionFromHeaders({ 'x-acme-session-id': 'hello world, this is text', 'session-id': 'codex-1' }), 'codex-1');
  assert.equal(sessionFromHeaders({ 'x-acme-session-id': 'short' }), null);
  assert.equal(sessionFromHeaders({ 'x-litellm-session-id': 'x'.repeat(257) }), null, 'longer than 256 characters');
  assert.equal(sessionFromHeaders({}), null);
});

test("LiteLLM's body field and metadata the client sets under session_id win over every header", () => {
  const headers = { 'x-litellm-session-id': 'from-header' };
  const fromBody = attribute({ litellm_session_id: 'from-body' }, headers, null);
  OPENAI_API.attribute!({}, headers, fromBody);
  assert.equal(fromBody.metadata.session_id, 'from-body');
  const fromMeta = attribute({ metadata: { spend_logs_metadata: { session_id: 'mine' } } }, headers, null);
  OPENAI_API.attribute!({}, headers, fromMeta);
  assert.equal(fromMeta.metadata.session_id, 'mine');
  const fromHeader = attribute({}, headers, null);
  OPENAI_API.attribute!({}, headers, fromHeader);
  assert.equal(fromHeader.metadata.session_id, 'from-header');
});
