// Who pays for a request: its tags, end user and metadata, from the body, the headers and
// the API key, merged exactly as LiteLLM does (DESIGN.md, "Attribution inputs"). Pure: the
// same inputs give the same attribution, and bad input is an error, never a silent drop.
import { InvalidAttributionError } from '../errors.ts';
import { SESSION_FIELD } from './sessions.ts';

export const MAX_TAGS = 64;
export const MAX_TAG_LENGTH = 256;
export const MAX_METADATA_BYTES = 8 * 1024;
/** LiteLLM's session grouping field (top level of the body, or in `metadata`): recorded as metadata `session_id`. */
const LITELLM_SESSION = 'litellm_session_id';
/** LiteLLM's metadata container for APIs whose `metadata` belongs to the provider. */
const LITELLM_METADATA = 'litellm_metadata';

export interface KeyAttribution {
  tags: readonly string[];
  metadata: Readonly<Record<string, string>>;
}

export interface Attribution {
  tags: string[];
  user: string | null;
  metadata: Record<string, string>;
  /** True when proxy-only fields were removed from the body, which must then be re-serialised. */
  bodyChanged: boolean;
}

type Headers = Record<string, string | string[] | undefined>;

// Control characters (C0, DEL, C1) are refused in tags and user ids: they break logs, CSVs and terminals.
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;
/**
 * A lone surrogate escape in JSON.stringify output (it writes `\udXXX` for lone surrogates
 * only; a backslash in the data is doubled, so an escape is preceded by an even number of them).
 */
const LONE_SURROGATE_ESCAPE = /(?:^|[^\\])(?:\\\\)*\\ud[89a-f][0-9a-f]{2}/i;

/**
 * Lone surrogates are refused in every attribution string (tags, user, metadata keys and
 * values): no UTF-8 text can hold them, so the record would not load (a client's JSON can
 * carry them as `\udc00` escapes).
 */
function checkWellFormed(value: string, source: string, param: string): void {
  if (!value.isWellFormed()) {
    throw new InvalidAttributionError(`${source} contains a lone surrogate (invalid UTF-16): ${JSON.stringify(value.slice(0, 60))}`, { param });
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });
/** A byte above ASCII, in a value node:http decoded as latin1 (one character per byte). */
const HIGH_BYTE = /[\u0080-\u00ff]/;
/** A character no latin1 decoding produces: the value did not come from raw header bytes. */
const NOT_A_BYTE = /[^\u0000-\u00ff]/;

/**
 * A header's text. node:http decodes header bytes as latin1, so `café` sent as UTF-8 arrives as
 * `cafÃ©` and `€` as `â\u0082¬` (a C1 control): the bytes are decoded again as UTF-8 here, and
 * a value that is not valid UTF-8 is a 400. ASCII values (nearly all) are returned as they are.
 */
function header(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  const text = Array.isArray(v) ? v.join(',') : v;
  if (text === undefined || !HIGH_BYTE.test(text) || NOT_A_BYTE.test(text)) return text;
  try {
    return UTF8.decode(Buffer.from(text, 'latin1'));
  } catch {
    throw new InvalidAttributionError(`${name} header is not valid UTF-8`, { param: name });
  }
}

function checkTag(tag: unknown, source: string): string {
  if (typeof tag !== 'string') {
    throw new InvalidAttributionError(`${source}: every tag must be a string, got ${tag === null ? 'null' : typeof tag}`, { param: source });
  }
  if (tag.length === 0) throw new InvalidAttributionError(`${source}: tags must not be empty`, { param: source });
  if (tag.length > MAX_TAG_LENGTH) {
    throw new InvalidAttributionError(`${source}: tag longer than ${MAX_TAG_LENGTH} characters: "${tag.slice(0, 40)}..."`, { param: source });
  }
  if (CONTROL_CHARS.test(tag)) {
    throw new InvalidAttributionError(`${source}: tag contains control characters: ${JSON.stringify(tag)}`, { param: source });
  }
  checkWellFormed(tag, `${source}: tag`, source);
  return tag;
}

function tagArray(value: unknown, source: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new InvalidAttributionError(`${source} must be an array of strings`, { param: source });
  return value.map((t) => checkTag(t, source));
}

function headerTags(raw: string | undefined, source: string): string[] {
  if (raw === undefined) return [];
  const out: string[] = [];
  for (const part of raw.split(',')) {
    const t = part.trim();
    if (t) out.push(checkTag(t, source));
  }
  return out;
}

function metadataValue(v: unknown, source: string, param: string): string {
  if (typeof v === 'string') {
    checkWellFormed(v, `${source} value`, param);
    return v;
  }
  const text = JSON.stringify(v) ?? String(v);
  if (LONE_SURROGATE_ESCAPE.test(text)) {
    throw new InvalidAttributionError(`${source} value contains a lone surrogate (invalid UTF-16)`, { param });
  }
  return text;
}

function metadataObject(value: unknown, source: string, param: string = source): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidAttributionError(`${source} must be a JSON object`, { param });
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    checkWellFormed(k, `${source} key`, param);
    // `out[k] =` would set the prototype for "__proto__": a client's key is data like any other.
    if (k === '__proto__') Object.defineProperty(out, k, { value: metadataValue(v, source, param), enumerable: true, writable: true, configurable: true });
    else out[k] = metadataValue(v, source, param);
  }
  return out;
}

function headerMetadata(raw: string | undefined): Record<string, string> {
  if (raw === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new InvalidAttributionError('x-litellm-spend-logs-metadata header must be a JSON object', {
      param: 'x-litellm-spend-logs-metadata',
    });
  }
  return metadataObject(parsed, 'x-litellm-spend-logs-metadata header', 'x-litellm-spend-logs-metadata');
}

/** An id (an end user, a session) from `source`: null when absent or empty, a 400 when not a short printable string. */
export function printableId(value: unknown, source: string): string | null {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string') throw new InvalidAttributionError(`${source} must be a string`, { param: source });
  if (value.length > MAX_TAG_LENGTH) {
    throw new InvalidAttributionError(`${source} must be at most ${MAX_TAG_LENGTH} characters`, { param: source });
  }
  if (CONTROL_CHARS.test(value)) {
    throw new InvalidAttributionError(`${source} contains control characters: ${JSON.stringify(value)}`, { param: source });
  }
  checkWellFormed(value, source, source);
  return value;
}

/** An end-user id from `source` (see printableId). */
export const userId = printableId;

/** `team` of `team:search`; null for a tag without a key (no ':' after the first character). */
function tagKeyOf(tag: string): string | null {
  const i = tag.indexOf(':');
  return i > 0 ? tag.slice(0, i) : null;
}

/**
 * A tag key the API key fixes (its tags include `app:red`) belongs to the key: a client tag of the
 * same key with another value would split the request's `--by tag:app` spend away from the key's
 * own app, so it is refused (docs/proxy.md, "Tag keys fixed by the API key").
 */
function checkFixedKeys(lists: readonly (readonly string[])[], sources: readonly string[], keyTags: readonly string[]): void {
  let fixed: string[] | null = null;
  for (const t of keyTags) {
    const k = tagKeyOf(t);
    if (k !== null) (fixed ??= []).push(k);
  }
  if (fixed === null) return;
  lists.forEach((list, i) => {
    for (const t of list) {
      const k = tagKeyOf(t);
      if (k === null || !fixed.includes(k) || keyTags.includes(t)) continue;
      const owned = keyTags.filter((kt) => tagKeyOf(kt) === k);
      throw new InvalidAttributionError(
        `${sources[i]}: tag ${JSON.stringify(t)} conflicts with the API key's ${owned.map((o) => JSON.stringify(o)).join(', ')}: ` +
          `the key fixes the tag key "${k}"`,
        { param: sources[i]! },
      );
    }
  });
}

/** Up to this many tags in all, duplicates are found by scanning the list (cheaper than a Set). */
const SCAN_LIMIT = 32;

/** The lists concatenated, duplicates dropped, first occurrence kept. */
function mergeTags(lists: readonly (readonly string[])[]): string[] {
  let total = 0;
  for (const list of lists) total += list.length;
  const out: string[] = [];
  if (total <= SCAN_LIMIT) {
    for (const list of lists) for (const t of list) if (!out.includes(t)) out.push(t);
    return out;
  }
  const seen = new Set<string>();
  for (const list of lists) {
    for (const t of list) {
      if (!seen.has(t)) {
        seen.add(t);
        out.push(t);
      }
    }
  }
  return out;
}

/**
 * Reads attribution from a parsed request body and its headers and removes the proxy-only
 * fields (`metadata.tags`, `metadata.spend_logs_metadata`, LiteLLM's `litellm_session_id` at the
 * top or in `metadata`, and its `litellm_metadata` object) from the body in place; providers
 * reject them. An emptied `metadata` object is removed too.
 */
export function attribute(body: Record<string, unknown>, headers: Headers, key: KeyAttribution | null): Attribution {
  let bodyChanged = false;
  let bodyMetaTags: string[] = [];
  let bodyMeta: Record<string, string> = {};
  let session: string | null = null;
  const meta = body.metadata;
  if (meta !== undefined && meta !== null) {
    if (typeof meta !== 'object' || Array.isArray(meta)) {
      throw new InvalidAttributionError('metadata must be an object', { param: 'metadata' });
    }
    const m = meta as Record<string, unknown>;
    if ('tags' in m) {
      bodyMetaTags = tagArray(m.tags, 'metadata.tags');
      delete m.tags;
      bodyChanged = true;
    }
    if ('spend_logs_metadata' in m) {
      bodyMeta = metadataObject(m.spend_logs_metadata, 'metadata.spend_logs_metadata');
      delete m.spend_logs_metadata;
      bodyChanged = true;
    }
    if (LITELLM_SESSION in m) {
      session = printableId(m[LITELLM_SESSION], `metadata.${LITELLM_SESSION}`);
      delete m[LITELLM_SESSION];
      bodyChanged = true;
    }
    if (bodyChanged && Object.keys(m).length === 0) delete body.metadata;
  }
  if (LITELLM_SESSION in body) {
    session ??= printableId(body[LITELLM_SESSION], LITELLM_SESSION);
    delete body[LITELLM_SESSION];
    bodyChanged = true;
  }
  // LiteLLM's own metadata container (what it reads instead of `metadata` on /v1/messages and
  // /v1/responses, where the provider owns `metadata`): tags, spend_logs_metadata, the end user
  // and the session are read; the whole object is LiteLLM's, so none of it goes upstream.
  let lmTags: string[] = [];
  let lmMeta: Record<string, string> = {};
  let lmUser: unknown;
  if (LITELLM_METADATA in body) {
    const lm = body[LITELLM_METADATA];
    if (lm !== null && (typeof lm !== 'object' || Array.isArray(lm))) {
      throw new InvalidAttributionError(`${LITELLM_METADATA} must be an object`, { param: LITELLM_METADATA });
    }
    const o = (lm ?? {}) as Record<string, unknown>;
    lmTags = tagArray(o.tags, `${LITELLM_METADATA}.tags`);
    lmMeta = metadataObject(o.spend_logs_metadata, `${LITELLM_METADATA}.spend_logs_metadata`);
    lmUser = o.user;
    if (LITELLM_SESSION in o) session ??= printableId(o[LITELLM_SESSION], `${LITELLM_METADATA}.${LITELLM_SESSION}`);
    delete body[LITELLM_METADATA];
    bodyChanged = true;
  }
  const rootTags = tagArray(body.tags, 'tags');
  if (body.tags !== undefined) {
    delete body.tags;
    bodyChanged = true;
  }
  const hdrTags = headerTags(header(headers, 'x-litellm-tags'), 'x-litellm-tags');
  const aliasTags = headerTags(header(headers, 'x-tagspend-tags'), 'x-tagspend-tags');

  if (key !== null && key.tags.length > 0) {
    checkFixedKeys([bodyMetaTags, lmTags, rootTags, hdrTags, aliasTags], ['metadata.tags', `${LITELLM_METADATA}.tags`, 'tags', 'x-litellm-tags', 'x-tagspend-tags'], key.tags);
  }
  // Merge order: body metadata.tags, litellm_metadata.tags, body tags, headers, the key's own; first occurrence wins.
  const tags = mergeTags([bodyMetaTags, lmTags, rootTags, hdrTags, aliasTags, key?.tags ?? []]);
  if (tags.length > MAX_TAGS) {
    throw new InvalidAttributionError(`too many tags: ${tags.length} (at most ${MAX_TAGS})`, { param: 'tags' });
  }

  // Header metadata keys win over body keys; the key's own metadata cannot be overridden.
  // Spread defines own properties, "__proto__" included.
  const metadata: Record<string, string> = {
    ...bodyMeta,
    ...lmMeta,
    ...headerMetadata(header(headers, 'x-litellm-spend-logs-metadata')),
    ...key?.metadata,
  };
  // LiteLLM's session id, unless the client's or the key's metadata names the session already.
  if (session !== null && !Object.hasOwn(metadata, SESSION_FIELD)) metadata[SESSION_FIELD] = session;
  let metaBytes = 0;
  for (const k in metadata) metaBytes += Buffer.byteLength(k) + Buffer.byteLength(metadata[k]!);
  if (metaBytes > MAX_METADATA_BYTES) {
    throw new InvalidAttributionError(`metadata is ${metaBytes} bytes (at most ${MAX_METADATA_BYTES})`, {
      param: 'spend_logs_metadata',
    });
  }

  // LiteLLM's order, first match wins; each API's own end-user fields (metadata.user_id,
  // safety_identifier) are read after these by its dialect (dialect.ts, messages.ts).
  const user =
    userId(header(headers, 'x-litellm-customer-id'), 'x-litellm-customer-id header') ??
    userId(header(headers, 'x-litellm-end-user-id'), 'x-litellm-end-user-id header') ??
    userId(body.user, 'user') ??
    userId(lmUser, `${LITELLM_METADATA}.user`);

  return { tags, user, metadata, bodyChanged };
}

const REDACTED = '[REDACTED]';

function secretLooking(key: string, patterns: readonly string[]): boolean {
  const lower = key.toLowerCase();
  return patterns.some((p) => lower.includes(p));
}

/** Redacts in place inside parsed JSON; true when anything changed. */
function redactNested(value: unknown, patterns: readonly string[]): boolean {
  if (typeof value !== 'object' || value === null) return false;
  let changed = false;
  if (Array.isArray(value)) {
    for (const item of value) changed = redactNested(item, patterns) || changed;
    return changed;
  }
  const o = value as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (secretLooking(k, patterns)) {
      if (o[k] !== REDACTED) {
        o[k] = REDACTED;
        changed = true;
      }
    } else {
      changed = redactNested(o[k], patterns) || changed;
    }
  }
  return changed;
}

/**
 * Replaces values under secret-looking keys with [REDACTED] (in place): top-level keys, and keys
 * at any depth of a value that is JSON text of an object or array (`{"cfg":{"api_key":...}}`
 * arrives as the value `{"api_key":...}` under `cfg`).
 */
export function redactMetadata(metadata: Record<string, string>, patterns: readonly string[]): void {
  for (const k of Object.keys(metadata)) {
    if (secretLooking(k, patterns)) {
      metadata[k] = REDACTED;
      continue;
    }
    const v = metadata[k]!;
    const first = v.charCodeAt(0);
    if (first !== 123 /* { */ && first !== 91 /* [ */) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(v);
    } catch {
      continue;
    }
    if (redactNested(parsed, patterns)) metadata[k] = JSON.stringify(parsed);
  }
}
