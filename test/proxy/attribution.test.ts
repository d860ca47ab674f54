import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attribute, redactMetadata } from '../../src/proxy/attribution.ts';
import { InvalidAttributionError } from '../../src/errors.ts';

const key = { tags: ['team:platform', 'app:a'], metadata: { cost_center: 'cc-7' } };

test('tags merge in order metadata.tags, root tags, x-litellm-tags, x-tagspend-tags, key tags; first occurrence kept', () => {
  const body: Record<string, unknown> = { model: 'm', metadata: { tags: ['app:a', 'env:prod'] }, tags: ['env:prod', 'tenant:acme'] };
  const a = attribute(body, { 'x-litellm-tags': ' x:1 , ,app:a,y:2 ', 'x-tagspend-tags': 'z:3' }, key);
  assert.deepEqual(a.tags, ['app:a', 'env:prod', 'tenant:acme', 'x:1', 'y:2', 'z:3', 'team:platform']);
});

test('proxy-only fields are removed from the body and an emptied metadata object disappears', () => {
  const body: Record<string, unknown> = { model: 'm', metadata: { tags: ['a'], spend_logs_metadata: { p: 'q' } }, tags: ['b'] };
  const a = attribute(body, {}, null);
  assert.equal(a.bodyChanged, true);
  assert.deepEqual(body, { model: 'm' });
  const body2: Record<string, unknown> = { model: 'm', metadata: { tags: ['a'], other: 'kept' } };
  attribute(body2, {}, null);
  assert.deepEqual(body2, { model: 'm', metadata: { other: 'kept' } });
});

test("LiteLLM's litellm_session_id (top level or in metadata) is recorded as metadata session_id and removed from the body", () => {
  const top: Record<string, unknown> = { model: 'm', litellm_session_id: 'sess-1', messages: [] };
  const a = attribute(top, {}, null);
  assert.equal(a.bodyChanged, true);
  assert.deepEqual(top, { model: 'm', messages: [] });
  assert.deepEqual(a.metadata, { session_id: 'sess-1' });
  const inMeta: Record<string, unknown> = { model: 'm', metadata: { litellm_session_id: 'sess-2' } };
  assert.deepEqual(attribute(inMeta, {}, null).metadata, { session_id: 'sess-2' });
  assert.deepEqual(inMeta, { model: 'm' }, 'the emptied metadata object goes too');
  // Metadata the client or the key sets under session_id names the session already.
  const both: Record<string, unknown> = { model: 'm', litellm_session_id: 'sess-3', metadata: { spend_logs_metadata: { session_id: 'mine' } } };
  assert.deepEqual(attribute(both, {}, null).metadata, { session_id: 'mine' });
  assert.throws(
    () => attribute({ litellm_session_id: 7 }, {}, null),
    (err: unknown) => err instanceof InvalidAttributionError && err.param === 'litellm_session_id' && /must be a string/.test(err.message),
  );
  assert.throws(
    () => attribute({ metadata: { litellm_session_id: 's\u0007' } }, {}, null),
    (err: unknown) => err instanceof InvalidAttributionError && err.param === 'metadata.litellm_session_id',
  );
});

test('a body without attribution fields is left untouched', () => {
  const body: Record<string, unknown> = { model: 'm', messages: [] };
  const a = attribute(body, {}, null);
  assert.equal(a.bodyChanged, false);
  assert.deepEqual(a.tags, []);
  assert.equal(a.user, null);
});

test('header metadata keys win over body keys and the key metadata wins over both', () => {
  const body: Record<string, unknown> = { metadata: { spend_logs_metadata: { project: 'body', cost_center: 'client', n: 3 } } };
  const a = attribute(body, { 'x-litellm-spend-logs-metadata': '{"project":"header","extra":true}' }, key);
  assert.deepEqual(a.metadata, { project: 'header', cost_center: 'cc-7', n: '3', extra: 'true' });
});

test("end user in LiteLLM's order: x-litellm-customer-id, x-litellm-end-user-id, body user, litellm_metadata.user", () => {
  assert.equal(attribute({ litellm_metadata: { user: 'u-lm' } }, {}, null).user, 'u-lm');
  assert.equal(attribute({ user: 'u-body', litellm_metadata: { user: 'u-lm' } }, {}, null).user, 'u-body');
  assert.equal(attribute({ user: 'u-body' }, { 'x-litellm-end-user-id': 'u-end' }, null).user, 'u-end');
  assert.equal(attribute({ user: 'u-body' }, { 'x-litellm-customer-id': 'u-cust', 'x-litellm-end-user-id': 'u-end' }, null).user, 'u-cust');
});

test("LiteLLM's litellm_metadata: its tags, spend_logs_metadata, user and session are read, and none of it goes upstream", () => {
  const body: Record<string, unknown> = {
    model: 'm',
    metadata: { user_id: 'kept-for-the-provider' },
    litellm_metadata: { tags: ['team:lm', 'app:a'], spend_logs_metadata: { project: 'lm' }, user: 'u-lm', litellm_session_id: 's-lm', generation_name: 'dropped' },
    tags: ['env:prod'],
  };
  const a = attribute(body, { 'x-litellm-tags': 'h:1' }, null);
  assert.deepEqual(a.tags, ['team:lm', 'app:a', 'env:prod', 'h:1'], 'after metadata.tags, before root tags and headers');
  assert.deepEqual(a.metadata, { project: 'lm', session_id: 's-lm' });
  assert.equal(a.user, 'u-lm');
  assert.equal(a.bodyChanged, true);
  assert.deepEqual(body, { model: 'm', metadata: { user_id: 'kept-for-the-provider' } });
  for (const [bad, param] of [
    [{ litellm_metadata: 'tags' }, 'litellm_metadata'],
    [{ litellm_metadata: { tags: 'a,b' } }, 'litellm_metadata.tags'],
    [{ litellm_metadata: { user: 5 } }, 'litellm_metadata.user'],
  ] as const) {
    assert.throws(
      () => attribute(structuredClone(bad) as Record<string, unknown>, {}, null),
      (err: unknown) => err instanceof InvalidAttributionError && err.param === param,
      JSON.stringify(bad),
    );
  }
  // A tag key the API key fixes cannot get another value through litellm_metadata either.
  assert.throws(
    () => attribute({ litellm_metadata: { tags: ['team:other'] } }, {}, key),
    (err: unknown) => err instanceof InvalidAttributionError && err.param === 'litellm_metadata.tags',
  );
});

test('the key tags are always present even when the client sends none', () => {
  assert.deepEqual(attribute({}, {}, key).tags, ['team:platform', 'app:a']);
});

for (const [name, body, headers, pattern] of [
  ['tags that are not an array', { tags: 'app:x' }, {}, /tags must be an array/],
  ['metadata.tags that are not an array', { metadata: { tags: { a: 1 } } }, {}, /metadata.tags must be an array/],
  ['a non-string tag', { tags: ['ok', 5] }, {}, /must be a string/],
  ['65 tags', { tags: Array.from({ length: 65 }, (_, i) => `t:${i}`) }, {}, /too many tags: 65/],
  ['a 300-character tag', { tags: ['x'.repeat(300)] }, {}, /longer than 256/],
  ['a tag with a control character', { tags: ['app:\u0007bell'] }, {}, /control characters/],
  ['a metadata header that is not JSON', {}, { 'x-litellm-spend-logs-metadata': 'project=x' }, /must be a JSON object/],
  ['a metadata header that is a JSON array', {}, { 'x-litellm-spend-logs-metadata': '[1,2]' }, /must be a JSON object/],
  ['metadata over 8 KiB', { metadata: { spend_logs_metadata: { big: 'x'.repeat(9000) } } }, {}, /at most 8192/],
  ['a non-string user', { user: 42 }, {}, /user must be a string/],
] as const) {
  test(`rejects ${name} with an invalid_request_error`, () => {
    assert.throws(
      () => attribute(structuredClone(body) as Record<string, unknown>, headers as Record<string, string>, null),
      (err: unknown) => err instanceof InvalidAttributionError && err.status === 400 && pattern.test(err.message),
    );
  });
}

for (const [name, body, headers, param] of [
  ['a lone low surrogate in the body user', { user: 'u\udc00' }, {}, 'user'],
  ['a lone high surrogate in the end-user header', {}, { 'x-litellm-end-user-id': 'u\ud800x' }, 'x-litellm-end-user-id header'],
  ['a lone surrogate in a root tag', { tags: ['app:\udc00'] }, {}, 'tags'],
  ['a lone surrogate in metadata.tags', { metadata: { tags: ['\ud83d'] } }, {}, 'metadata.tags'],
  ['a lone surrogate in a metadata value', { metadata: { spend_logs_metadata: { project: 'p\udfff' } } }, {}, 'metadata.spend_logs_metadata'],
  ['a lone surrogate in a metadata key', { metadata: { spend_logs_metadata: { ['k\ud800']: 'v' } } }, {}, 'metadata.spend_logs_metadata'],
  ['a lone surrogate inside a nested metadata value', { metadata: { spend_logs_metadata: { cfg: { deep: ['\udc00'] } } } }, {}, 'metadata.spend_logs_metadata'],
  ['a lone surrogate in the metadata header', {}, { 'x-litellm-spend-logs-metadata': '{"p":"\\udc00"}' }, 'x-litellm-spend-logs-metadata'],
  ['a C1 control character in a tag', { tags: ['app:\u0085x'] }, {}, 'tags'],
  ['a C1 control character in the user', { user: 'u\u009b31m' }, {}, 'user'],
] as const) {
  test(`rejects ${name} (400 naming ${param})`, () => {
    assert.throws(
      () => attribute(structuredClone(body) as Record<string, unknown>, headers as Record<string, string>, null),
      (err: unknown) => err instanceof InvalidAttributionError && err.status === 400 && err.param === param && /surrogate|control/.test(err.message),
    );
  });
}

test('well-formed astral characters (surrogate pairs) are accepted everywhere', () => {
  const a = attribute({ user: 'u😀', tags: ['app:😀'], metadata: { spend_logs_metadata: { '😀': ['😀'] } } }, {}, null);
  assert.deepEqual([a.user, a.tags, a.metadata], ['u😀', ['app:😀'], { '😀': '["😀"]' }]);
});

test('64 tags after deduplication are accepted', () => {
  const tags = Array.from({ length: 64 }, (_, i) => `t:${i}`);
  assert.equal(attribute({ tags: [...tags, 't:0'] }, {}, null).tags.length, 64);
});

test('metadata under secret-looking keys is redacted', () => {
  const m = { api_key: 'sk-123', Session_Token: 'abc', db_password: 'pw', client_secret: 's', project: 'p' };
  redactMetadata(m, ['key', 'secret', 'token', 'password']);
  assert.deepEqual(m, { api_key: '[REDACTED]', Session_Token: '[REDACTED]', db_password: '[REDACTED]', client_secret: '[REDACTED]', project: 'p' });
});

test('a tag key fixed by the API key cannot get another value from the client: 400 naming the tag and the source', () => {
  for (const [body, headers, source] of [
    [{ metadata: { tags: ['app:b'] } }, {}, 'metadata.tags'],
    [{ tags: ['env:prod', 'app:b'] }, {}, 'tags'],
    [{}, { 'x-litellm-tags': 'app:b' }, 'x-litellm-tags'],
    [{}, { 'x-tagspend-tags': 'team:other' }, 'x-tagspend-tags'],
  ] as const) {
    assert.throws(
      () => attribute({ ...body }, headers, key),
      (err: unknown) =>
        err instanceof InvalidAttributionError &&
        err.param === source &&
        /conflicts with the API key's "(app:a|team:platform)": the key fixes the tag key "(app|team)"/.test(err.message),
      source,
    );
  }
  // The same value, other tag keys and tags without a key are the client's to add.
  const a = attribute({ metadata: { tags: ['app:a', 'tenant:acme', 'beta'] } }, { 'x-litellm-tags': 'env:prod' }, key);
  assert.deepEqual(a.tags, ['app:a', 'tenant:acme', 'beta', 'env:prod', 'team:platform']);
  // A key without tags fixes nothing.
  assert.deepEqual(attribute({ tags: ['app:b', 'app:c'] }, {}, { tags: [], metadata: {} }).tags, ['app:b', 'app:c']);
});

/** A header value as node:http hands it over: each byte of the UTF-8 text as one latin1 character. */
const wire = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');

test('header values are decoded as UTF-8 from their bytes: café and €uro are tags, José a user, Zürich metadata', () => {
  const a = attribute({}, {
    'x-litellm-tags': wire('café, €uro'),
    'x-tagspend-tags': wire('team:数据'),
    'x-litellm-end-user-id': wire('José'),
    'x-litellm-spend-logs-metadata': wire('{"city":"Zürich"}'),
  }, null);
  assert.deepEqual(a.tags, ['café', '€uro', 'team:数据']);
  assert.equal(a.user, 'José');
  assert.deepEqual(a.metadata, { city: 'Zürich' });
});

test('a header that is not valid UTF-8 is a 400 naming the header; C1 controls sent as UTF-8 are still refused', () => {
  assert.throws(
    () => attribute({}, { 'x-litellm-tags': 'caf\u00e9' /* the single byte 0xE9 */ }, null),
    (err: unknown) => err instanceof InvalidAttributionError && err.param === 'x-litellm-tags' && /UTF-8/.test(err.message),
  );
  assert.throws(
    () => attribute({}, { 'x-litellm-customer-id': '\u00ff\u00fe' }, null),
    (err: unknown) => err instanceof InvalidAttributionError && err.param === 'x-litellm-customer-id' && /UTF-8/.test(err.message),
  );
  assert.throws(
    () => attribute({}, { 'x-litellm-tags': wire('app:\u0085') }, null),
    (err: unknown) => err instanceof InvalidAttributionError && /control characters/.test(err.message),
  );
});
