// API keys: the master key (admin) and proxy keys from config. Keys are never stored or
// compared as plain text at request time: the presented key is hashed and looked up by its
// SHA-256, then confirmed with a constant-time comparison of the digests. Digests are hex
// strings from the one-shot crypto.hash: a Hash object and a digest Buffer per request cost
// several times more.
import { hash } from 'node:crypto';
import type { ResolvedKey } from '../config/load.ts';
import { AuthenticationError, PermissionError } from '../errors.ts';
import { TagAccess } from './tag-access.ts';

export interface Principal {
  kind: 'master' | 'key' | 'open';
  /** The proxy key's config entry; null for the master key and open mode. */
  key: ResolvedKey | null;
  alias: string | null;
  /** First 16 hex of the key's SHA-256: identifies a key in records without revealing it. */
  keyHash: string | null;
  /** The key's allowed_tags; null = any tag (and for the master key). */
  tagAccess: TagAccess | null;
}

type Headers = Record<string, string | string[] | undefined>;

function sha256Hex(value: string): string {
  return hash('sha256', value, 'hex');
}

/** Equality of two hex digests in time independent of where they differ. */
function digestsEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

export function keyHash(key: string): string {
  return sha256Hex(key).slice(0, 16);
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

/** Model endpoints take any key but a viewer key, which may only read spend. */
export function refuseViewer(p: Principal): void {
  if (p.key?.viewer) throw new PermissionError(`Key "${p.key.alias}" is a viewer key: it may read spend (tagspend serve), not call models`);
}

/** The name a definition's history records for who changed it: the key alias, `master`, or `open`. */
export function actorOf(p: Principal): string | null {
  return p.alias ?? (p.kind === 'open' ? 'open' : null);
}

export class KeyRing {
  private readonly byDigest = new Map<string, { digest: string; principal: Principal }>();
  private readonly masterDigest: string | null;
  /** No keys at all: every request is allowed (the proxy warns loudly at start). */
  readonly open: boolean;

  constructor(keys: readonly ResolvedKey[], masterKey: string | null) {
    for (const k of keys) {
      const digest = sha256Hex(k.key);
      const tagAccess = k.allowedTags === null ? null : new TagAccess(k.allowedTags, k.tags);
      this.byDigest.set(digest, { digest, principal: { kind: 'key', key: k, alias: k.alias, keyHash: digest.slice(0, 16), tagAccess } });
    }
    this.masterDigest = masterKey ? sha256Hex(masterKey) : null;
    this.open = keys.length === 0 && masterKey === null;
  }

  /** Who is calling an API endpoint; throws 401 on a missing or unknown key. */
  authenticate(headers: Headers): Principal {
    const presented = presentedKey(headers);
    if (this.open) {
      return { kind: 'open', key: null, alias: null, keyHash: presented ? keyHash(presented) : null, tagAccess: null };
    }
    if (!presented) throw new AuthenticationError('Missing API key: send "Authorization: Bearer <key>"');
    const digest = sha256Hex(presented);
    if (this.masterDigest && digestsEqual(digest, this.masterDigest)) {
      return { kind: 'master', key: null, alias: 'master', keyHash: digest.slice(0, 16), tagAccess: null };
    }
    const hit = this.byDigest.get(digest);
    if (hit && digestsEqual(digest, hit.digest)) return hit.principal;
    throw new AuthenticationError('Invalid API key');
  }

  /** Admin endpoints need the master key (or open mode without any key configured). */
  authenticateAdmin(headers: Headers): Principal {
    const p = this.authenticate(headers);
    if (p.kind === 'key') throw new PermissionError('This endpoint needs the master key');
    return p;
  }

  /** Spend reading (`tagspend serve`): the master key or a `viewer: true` key. */
  authenticateViewer(headers: Headers): Principal {
    const p = this.authenticate(headers);
    if (p.kind === 'key' && !p.key?.viewer) throw new PermissionError(`Key "${p.alias}" may call models but not read spend: use the master key or a key with viewer: true`);
    return p;
  }

  /**
   * The tag admin endpoints: the master key for every tag, or a key with `manage_tags` for the
   * tags its allowed_tags match (the routes check each name with `mayManage`).
   */
  authenticateTagAdmin(headers: Headers): Principal {
    const p = this.authenticate(headers);
    if (p.kind === 'key' && !p.key?.manageTags) throw new PermissionError('This endpoint needs the master key or a key with manage_tags');
    return p;
  }
}
