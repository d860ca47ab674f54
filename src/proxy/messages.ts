// Anthropic's Messages API (`/v1/messages`, `/v1/messages/count_tokens`) on the one request
// pipeline (llm.ts): errors in Anthropic's shape, usage read the Messages way, the stream tapped
// for Anthropic's events, models routed to a provider that speaks the API, the provider's key
// sent as `x-api-key`. The end user comes from `metadata.user_id` unless a header names one;
// Claude Code's JSON user id gives the account (or device) and the coding session.
import type { IncomingHttpHeaders } from 'node:http';
import { claudeCodeUser, messagesUsage, toAnthropicError } from '../providers/anthropic.ts';
import { userId } from './attribution.ts';
import type { ApiDialect, Attributed } from './dialect.ts';
import { sendError } from './http.ts';
import { MessagesSseTap } from './messages-sse.ts';
import { recordSession, sessionFromHeaders } from './sessions.ts';

/** The Messages API needs a version header; clients normally send their own, which is forwarded. */
const DEFAULT_ANTHROPIC_VERSION = '2023-06-01';
/** metadata.user_id as the end user, Claude Code's session id as metadata (attribution's common sources win). */
function attributeMessages(body: Record<string, unknown>, headers: IncomingHttpHeaders, attributed: Attributed): void {
  const meta = body.metadata;
  const raw = typeof meta === 'object' && meta !== null ? (meta as Record<string, unknown>).user_id : undefined;
  let session = sessionFromHeaders(headers);
  if (raw !== undefined && raw !== null) {
    const fromClaudeCode = typeof raw === 'string' ? claudeCodeUser(raw) : null;
    session ??= fromClaudeCode?.sessionId ?? null;
    // After the common sources (headers, `litellm_metadata.user`), as LiteLLM orders them.
    if (attributed.user === null) {
      attributed.user = fromClaudeCode ? userId(fromClaudeCode.user, 'metadata.user_id') : userId(raw, 'metadata.user_id');
    }
  }
  recordSession(attributed, session);
}

export const MESSAGES_API: ApiDialect = {
  sendError: (res, err) => sendError(res, err, toAnthropicError),
  normaliseUsage: messagesUsage,
  newTap: () => new MessagesSseTap(),
  route: (router, model) => router.routeMessages(model),
  keyHeader: 'x-api-key',
  defaultHeaders: { 'anthropic-version': DEFAULT_ANTHROPIC_VERSION },
  attribute: attributeMessages,
  free: new Set(['/messages/count_tokens']),
  forwardQuery: true,
};

/** The Messages endpoints below /v1: served with and without the prefix, recorded with it. */
export const MESSAGES_ENDPOINTS = ['/messages', '/messages/count_tokens'];
