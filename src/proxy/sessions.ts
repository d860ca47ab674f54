// Coding agents' sessions, recorded as metadata `session_id` so that `tagspend report --by
// meta:session_id` gives the cost of each session: Claude Code sends `x-claude-code-session-id`
// on every request of a session, the Codex CLI `session-id` (its thread id). A value the client or
// the key already set under that field wins.
import type { IncomingHttpHeaders } from 'node:http';
import type { Attributed } from './dialect.ts';

/** The metadata field the coding session is recorded under (`--by meta:session_id`). */
export const SESSION_FIELD = 'session_id';
/** Headers that carry a session id, in order of preference. */
export const SESSION_HEADERS = ['x-claude-code-session-id', 'session-id'] as const;
const MAX_SESSION_CHARS = 256;

/** The session id a header carries, or null (absent, empty or longer than 256 characters). */
export function sessionFromHeaders(headers: IncomingHttpHeaders): string | null {
  for (const name of SESSION_HEADERS) {
    const v = headers[name];
    const s = Array.isArray(v) ? v[0] : v;
    if (s && s.length <= MAX_SESSION_CHARS) return s;
  }
  return null;
}

export function recordSession(attributed: Attributed, session: string | null): void {
  if (session !== null && !Object.hasOwn(attributed.metadata, SESSION_FIELD)) attributed.metadata[SESSION_FIELD] = session;
}

