// Object keys shared by every store: what a valid key is, and the order keys are listed in.
import { StoreKeyError } from '../errors.ts';

/**
 * Throws StoreKeyError unless `key` is a relative '/'-separated path with no empty, `.` or `..`
 * segment. Both stores apply the same rule so a key that works locally also works on S3 and
 * the reverse, and no key can reach outside the local store's root.
 */
export function assertValidKey(key: string): void {
  if (key.length === 0) throw new StoreKeyError('object key is empty');
  if (key.length > 1024) throw new StoreKeyError(`object key is longer than 1024 characters: ${key.slice(0, 64)}...`);
  if (key.includes('\0') || key.includes('\\')) throw new StoreKeyError(`object key has a NUL or backslash: ${JSON.stringify(key)}`);
  for (const segment of key.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new StoreKeyError(`object key must be a relative path without empty, '.' or '..' segments: ${JSON.stringify(key)}`);
    }
  }
}

/** A list prefix may be empty or end with '/', but must not climb either. */
export function assertValidPrefix(prefix: string): void {
  if (prefix === '') return;
  assertValidKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
}

/** S3 lists keys in UTF-8 byte order; JS string order differs for astral characters. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
