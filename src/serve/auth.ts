// Who may read spend: the master key or a `viewer: true` key, sent as a header (scripts, the
// LiteLLM-shaped API) or, in a browser, once through the sign-in form, which sets a session
// cookie (HttpOnly, SameSite=Strict) holding a random id. Sessions live in memory: a restart
// signs everyone out. The key itself is never stored in the cookie.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { AuthenticationError } from '../errors.ts';
import { presentedKey, type KeyRing, type Principal } from '../proxy/auth.ts';

export const SESSION_COOKIE = 'tagspend_session';

interface Session {
  principal: Principal;
  expiresAt: number;
}

export class Sessions {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly keyring: KeyRing,
    private readonly ttlMs: number,
    private readonly clock: () => number,
  ) {}

  /** The caller: a key in the headers wins; else a live session cookie; else 401 (403 for a non-viewer key). */
  authenticate(req: IncomingMessage): Principal {
    if (presentedKey(req.headers) !== null || this.keyring.open) return this.keyring.authenticateViewer(req.headers);
    const id = sessionId(req);
    const s = id === null ? undefined : this.sessions.get(id);
    if (s && s.expiresAt > this.clock()) return s.principal;
    if (s) this.sessions.delete(id!);
    throw new AuthenticationError('Sign in with the master key or a viewer key (Authorization: Bearer <key>)');
  }

  /** Checks a key typed into the sign-in form; returns the new session id. */
  signIn(key: string): string {
    const principal = this.keyring.authenticateViewer({ authorization: `Bearer ${key}` });
    const now = this.clock();
    for (const [id, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(id);
    const id = randomBytes(32).toString('base64url');
    this.sessions.set(id, { principal, expiresAt: now + this.ttlMs });
    return id;
  }

  signOut(req: IncomingMessage): void {
    const id = sessionId(req);
    if (id !== null) this.sessions.delete(id);
  }

  cookie(id: string): string {
    return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(this.ttlMs / 1000)}`;
  }
}

export function clearedCookie(): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;
}

function sessionId(req: IncomingMessage): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  for (const part of header.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === SESSION_COOKIE) return rest.join('=') || null;
  }
  return null;
}
