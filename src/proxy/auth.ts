// API keys: the master key (admin) and proxy keys from config. Keys are never stored or
// compared as plain text at request time: the presented key is hashed and looked up by its
// SHA-256, then confirmed with a constant-time comparison of the digests.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ResolvedKey } from '../config/load.ts';
import { AuthenticationError, PermissionError } from '../errors.ts';

export interface Principal {
  kind: 'master' | 'key' | 'open';
  /** The proxy key's config entry; null for the master key and open mode. */
  key: ResolvedKey | null;
  alias: string | null;
  /** First 16 hex of the key's SHA-256: identifies a key in records without revealing it. */
  keyHash: string | null;
}

type Headers = Record<string, string | string[] | undefined>;

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

export function keyHash(key: string): string {
  return sha256(key).toString('hex').slice(0, 16);
}

/** The key a client presented: `Authorization: Bearer`, `x-litellm-api-key` or `x-api-key`. */
export function presentedKey(headers: Headers): string | null {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (m) return m[1]!.trim();
  }
  for (const name of ['x-litellm-api-key', 'x-api-key'] as const) {
    const v = headers[name];
    if (typeof v === 'string' && v.trim()) return v.replace(/^Bearer\s+/i, '').trim();
  }
  return null;
}

export class KeyRing {
  private readonly byDigest = new Map<string, { digest: Buffer; principal: Principal }>();
  private readonly masterDigest: Buffer | null;
  /** No keys at all: every request is allowed (the proxy warns loudly at start). */
  readonly open: boolean;

  constructor(keys: readonly ResolvedKey[], masterKey: string | null) {
    for (const k of keys) {
      const digest = sha256(k.key);
      this.byDigest.set(digest.toString('hex'), {
        digest,
        principal: { kind: 'key', key: k, alias: k.alias, keyHash: digest.toString('hex').slice(0, 16) },
      });
    }
    this.masterDigest = masterKey ? sha256(masterKey) : null;
    this.open = keys.length === 0 && masterKey === null;
  }

  /** Who is calling an API endpoint; throws 401 on a missing or unknown key. */
  authenticate(headers: Headers): Principal {
    const presented = presentedKey(headers);
    if (this.open) {
      return { kind: 'open', key: null, alias: null, keyHash: presented ? keyHash(presented) : null };
    }
    if (!presented) throw new AuthenticationError('Missing API key: send "Authorization: Bearer <key>"');
    const digest = sha256(presented);
    if (this.masterDigest && timingSafeEqual(digest, this.masterDigest)) {
      return { kind: 'master', key: null, alias: 'master', keyHash: digest.toString('hex').slice(0, 16) };
    }
    const hit = this.byDigest.get(digest.toString('hex'));
    if (hit && timingSafeEqual(digest, hit.digest)) return hit.principal;
    throw new AuthenticationError('Invalid API key');
  }

  /** Admin endpoints need the master key (or open mode without any key configured). */
  authenticateAdmin(headers: Headers): Principal {
    const p = this.authenticate(headers);
    if (p.kind === 'key') throw new PermissionError('This endpoint needs the master key');
    return p;
  }
}
