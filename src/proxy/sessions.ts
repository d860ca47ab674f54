// Sessions, recorded as metadata `session_id` so that `tagspend report --by meta:session_id`
// gives the cost of each one. From the headers, as LiteLLM reads them: its own
// `x-litellm-session-id` and `x-litellm-trace-id` first, then any `x-<vendor>-session-id` whose
// value looks like an id (Claude Code sends `x-claude-code-session-id` on every request of a
// session), and the Codex CLI's `session-id` (its thread id) last. LiteLLM's body field
// `litellm_session_id` (attribution.ts) and a `session_id` the client or the key set in the
// metadata win over all of them.
import type { IncomingHttpHeaders } from 'node:http';
import type { Attributed } from './dialect.ts';

/** The metadata field the session is recorded under (`--by meta:session_id`). */
export const SESSION_FIELD = 'session_id';
/** Headers that name the session outright, in order of preference. */
const EXPLICIT_HEADERS = ['x-litellm-session-id', 'x-litellm-trace-id', 'x-claude-code-session-id'] as const;
/** The Codex CLI's header: after the vendors' `x-...-session-id` ones. */
const CODEX_HEADER = 'session-id';
const MAX_SESSION_CHARS = 256;
/** What a vendor's `x-<vendor>-session-id` must hold to count: an id, not free text. */
const ID_VALUE = /^[A-Za-z0-9_-]{8,256}$/;

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** The session id the headers carry, or null (absent, empty or longer than 256 characters). */
export function sessionFromHeaders(headers: IncomingHttpHeaders): string | null {
  for (const name of EXPLICIT_HEADERS) {
    const s = single(headers[name]);
    if (s && s.length <= MAX_SESSION_CHARS) return s;
  }
  for (const name in headers) {
    if (name.length > 13 && name.startsWith('x-') && name.endsWith('-session-id')) {
      const s = single(headers[name]);
      if (s && ID_VALUE.test(s)) return s;
    }
  }
  const s = single(headers[CODEX_HEADER]);
  return s && s.length <= MAX_SESSION_CHARS ? s : null;
}

export function recordSession(attributed: Attributed, session: string | null): void {
  if (session !== null && !Object.hasOwn(attributed.metadata, SESSION_FIELD)) attributed.metadata[SESSION_FIELD] = session;
}
