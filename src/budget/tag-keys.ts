// Where a tag's definition lives in the store. A tag name may be 256 characters of any script;
// URL-encoded that is up to 2,304 characters, more than a file name (255 bytes on the local
// store, per segment on MinIO) or a whole S3 key (1,024 bytes) can hold. So:
//   control/tags/<url-encoded name>.json   when the encoding is at most 200 characters (the key
//                                          earlier releases used, and DESIGN.md's: most names)
//   control/tags/=<sha256 of the name>.json otherwise ('=' never appears in a URL encoding, so
//                                          the two forms cannot collide)
// The name itself is always inside the object. Definitions written by earlier releases under the
// URL-encoded name of a long name are still read there (legacyTagKey) and moved on their next write.
import { createHash } from 'node:crypto';

export const TAGS_PREFIX = 'control/tags/';
/** Longest URL-encoded name kept readable in the key (a 250-byte segment limit with room to spare). */
export const MAX_READABLE_TAG_KEY = 200;

/** The key earlier releases used for every name: the URL-encoded name. */
export function legacyTagKey(name: string): string {
  return `${TAGS_PREFIX}${encodeURIComponent(name)}.json`;
}

/** The object key of a tag's definition (names are validated first: no lone surrogates). */
export function tagKey(name: string): string {
  const encoded = encodeURIComponent(name);
  if (encoded.length <= MAX_READABLE_TAG_KEY) return `${TAGS_PREFIX}${encoded}.json`;
  return `${TAGS_PREFIX}=${createHash('sha256').update(name, 'utf8').digest('hex')}.json`;
}
