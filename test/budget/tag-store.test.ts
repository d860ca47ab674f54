// Tag definitions in the store: object keys that fit every store (and the key earlier releases
// used, still read), names validated like the proxy validates tags, and writes that cannot
// lose a concurrent change (conditional writes: S3 If-Match/If-None-Match, a key lock locally).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { legacyTagKey, tagKey } from '../../src/budget/tag-keys.ts';
import { TagRegistry } from '../../src/budget/tags.ts';
import { StorePreconditionFailedError } from '../../src/errors.ts';
import { LocalStore } from '../../src/store/local.ts';
import { S3Store } from '../../src/store/s3.ts';
import { seededRandom } from '../helpers/spend-fixtures.ts';
import { startFakeS3, type FakeS3 } from '../helpers/fake-s3.ts';
import { proxyWithMock } from '../helpers/proxy.ts';

const NOW = Date.parse('2026-11-20T12:00:00Z');

describe('tag object keys', () => {
  test('a name whose URL encoding fits keeps the key earlier releases used', () => {
    assert.equal(tagKey('app:alpha'), 'control/tags/app%3Aalpha.json');
    assert.equal(tagKey('app:alpha'), legacyTagKey('app:alpha'));
  });

  test('every name of up to 256 characters maps to a key whose last segment is at most 250 bytes', () => {
    const rand = seededRandom(11);
    const alphabets = ['abc', ':/%', '数据中', 'é€😀', ' x'];
    const names = ['a'.repeat(256), ':'.repeat(256), '数'.repeat(256), '😀'.repeat(128)];
    for (let i = 0; i < 500; i++) {
      const chars = [...alphabets[Math.floor(rand() * alphabets.length)]!];
      const n = 1 + Math.floor(rand() * 256);
      let s = '';
      while (s.length < n) s += chars[Math.floor(rand() * chars.length)];
      names.push(s.slice(0, 256).toWellFormed());
    }
    const keys = new Set<string>();
    for (const name of names) {
      const key = tagKey(name);
      const segment = key.slice('control/tags/'.length);
      assert.ok(key.startsWith('control/tags/') && !segment.includes('/'), key);
      assert.ok(Buffer.byteLength(segment) <= 250, `${segment.length}: ${segment.slice(0, 40)}`);
      keys.add(key);
    }
    assert.equal(keys.size, new Set(names).size, 'distinct names, distinct keys');
  });
});

describe('tag admin API on the local store', () => {
  const env = proxyWithMock();

  async function call(path: string, body: unknown) {
    const res = await fetch(`${env.tp.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as any };
  }

  for (const [what, name] of [
    ['256 ASCII characters', `app:${'a'.repeat(252)}`],
    ['256 characters with colons', ':'.repeat(256)],
    ['256 CJK characters', '数'.repeat(256)],
  ] as const) {
    test(`a name of ${what} is created, read, listed, updated and deleted`, async () => {
      const made = await call('/tag/new', { name, max_budget: 5, budget_duration: '1d' });
      assert.equal(made.status, 200, JSON.stringify(made.json));
      const info = await call('/tag/info', { names: [name] });
      assert.equal(info.status, 200);
      assert.equal(info.json[name].name, name);
      const list = (await (await fetch(`${env.tp.url}/tag/list`)).json()) as { name: string }[];
      assert.equal(list.filter((t) => t.name === name).length, 1);
      assert.equal((await call('/tag/update', { name, description: 'long' })).json.description, 'long');
      assert.equal((await call('/tag/delete', { name })).status, 200);
      assert.equal((await call('/tag/info', { names: [name] })).status, 404);
    });
  }

  test('a lone surrogate in a name is a 400 naming it, at new, info, update and delete', async () => {
    const lone = '{"name":"app:\\udc00","max_budget":1,"budget_duration":"1d"}';
    const made = await call('/tag/new', lone);
    assert.equal(made.status, 400);
    assert.equal(made.json.error.param, 'name');
    assert.equal((await call('/tag/update', lone)).status, 400);
    assert.equal((await call('/tag/info', '{"names":["app:\\ud800"]}')).status, 400);
    assert.equal((await call('/tag/delete', '{"name":"app:\\ud800"}')).status, 400);
  });

  test('C1 control characters in a name are refused, as the proxy refuses them in request tags', async () => {
    const made = await call('/tag/new', { name: 'app:\u0085x', max_budget: 1, budget_duration: '1d' });
    assert.equal(made.status, 400);
    assert.equal(made.json.error.param, 'name');
  });

  test('ten concurrent /tag/new of one name: one 200, nine 409', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => call('/tag/new', { name: 'race:new', description: `writer ${i}` })));
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 409, 409, 409, 409, 409, 409, 409, 409, 409]);
    const winner = results.find((r) => r.status === 200)!.json.description;
    assert.equal((await call('/tag/info', { names: ['race:new'] })).json['race:new'].description, winner);
  });

  test('concurrent /tag/update of different fields keep both fields (20 pairs)', async () => {
    for (let i = 0; i < 20; i++) {
      const name = `race:update:${i}`;
      assert.equal((await call('/tag/new', { name, max_budget: 1, budget_duration: '1d' })).status, 200);
      const [a, b] = await Promise.all([call('/tag/update', { name, description: `d${i}` }), call('/tag/update', { name, max_budget: 100 + i })]);
      assert.deepEqual([a.status, b.status], [200, 200]);
      const got = (await call('/tag/info', { names: [name] })).json[name];
      assert.deepEqual([got.description, got.max_budget], [`d${i}`, 100 + i], `pair ${i}`);
    }
  });
});

test('a definition stored by the previous release at the old key is read, listed once, moved to the new key on update, and deleted', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tagspend-tagkeys-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = new LocalStore(dir);
  // 220 characters: the old key fits a local file name, the new scheme hashes it.
  const name = `team:${'x'.repeat(215)}`;
  assert.notEqual(tagKey(name), legacyTagKey(name));
  const old = { name, description: 'old release', max_budget: 3, budget_duration: '1mo', soft_budget: null, alert_thresholds: null, created_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z' };
  await store.put(legacyTagKey(name), JSON.stringify(old));
  const registry = new TagRegistry(store);
  assert.equal((await registry.get(name))?.description, 'old release');
  assert.deepEqual((await registry.list()).map((d) => d.name), [name]);
  await assert.rejects(registry.create({ name }, NOW), (err: unknown) => (err as { status?: number }).status === 409);
  const updated = await registry.update({ name, max_budget: 4 }, NOW);
  assert.deepEqual([updated.description, updated.max_budget, updated.created_at], ['old release', 4, old.created_at]);
  assert.equal(await store.head(legacyTagKey(name)), null, 'the old key is gone');
  assert.ok(await store.head(tagKey(name)), 'the new key holds it');
  assert.deepEqual((await registry.list()).map((d) => [d.name, d.max_budget]), [[name, 4]]);
  await registry.delete(name);
  assert.equal(await registry.get(name), null);
});

describe('conditional writes on the local store', () => {
  let dir: string;
  let store: LocalStore;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tagspend-cas-'));
    store = new LocalStore(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('ifNoneMatch "*": of 50 concurrent creators exactly one writes, the others get StorePreconditionFailedError', async () => {
    const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => store.put('cas/create.json', `writer ${i}`, { ifNoneMatch: '*' })));
    const won = results.filter((r) => r.status === 'fulfilled');
    assert.equal(won.length, 1);
    assert.ok(results.every((r) => r.status === 'fulfilled' || r.reason instanceof StorePreconditionFailedError));
    const got = await store.get('cas/create.json');
    assert.ok(got && 'body' in got);
    assert.equal(got.etag, (won[0] as PromiseFulfilledResult<{ etag: string }>).value.etag);
  });

  test('ifMatch: of 50 concurrent writers holding the same ETag exactly one replaces the object; a stale ETag always fails', async () => {
    const first = await store.put('cas/update.json', 'v0');
    const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => store.put('cas/update.json', `v${i + 1}`, { ifMatch: first.etag })));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    await assert.rejects(store.put('cas/update.json', 'late', { ifMatch: first.etag }), StorePreconditionFailedError);
    await assert.rejects(store.put('cas/missing.json', 'x', { ifMatch: first.etag }), StorePreconditionFailedError);
  });

  test('read-modify-write with retries by 20 concurrent incrementers loses no increment', async () => {
    await store.put('cas/counter.json', '0');
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        for (;;) {
          const got = await store.get('cas/counter.json');
          assert.ok(got && 'body' in got);
          try {
            await store.put('cas/counter.json', String(Number(got.body.toString()) + 1), { ifMatch: got.etag });
            return;
          } catch (err) {
            if (!(err instanceof StorePreconditionFailedError)) throw err;
          }
        }
      }),
    );
    const got = await store.get('cas/counter.json');
    assert.equal(got && 'body' in got ? got.body.toString() : null, '20');
  });

  test('lock files stay out of listings', async () => {
    const keys: string[] = [];
    for await (const info of store.list('')) keys.push(info.key);
    assert.deepEqual(keys.sort(), ['cas/counter.json', 'cas/create.json', 'cas/update.json']);
  });
});

describe('conditional writes on S3 (a fake endpoint: s3rver 3.7.1 ignores If-Match and If-None-Match)', () => {
  let s3: FakeS3;
  let store: S3Store;
  before(async () => {
    s3 = await startFakeS3();
    store = new S3Store(`s3://${s3.bucket}/t`, {
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      checksums: 'when_required',
      credentials: { accessKeyId: 'fake', secretAccessKey: 'fake' },
    });
  });
  after(async () => {
    await store?.close();
    await s3?.close();
  });

  test('PutObject carries If-None-Match: * for a create and If-Match: "<etag>" for a replace; 412 is StorePreconditionFailedError', async () => {
    const made = await store.put('c/a.json', 'one', { ifNoneMatch: '*' });
    await assert.rejects(store.put('c/a.json', 'two', { ifNoneMatch: '*' }), StorePreconditionFailedError);
    const replaced = await store.put('c/a.json', 'three', { ifMatch: made.etag });
    await assert.rejects(store.put('c/a.json', 'four', { ifMatch: made.etag }), StorePreconditionFailedError);
    assert.notEqual(replaced.etag, made.etag);
    const puts = s3.requests.filter((r) => r.method === 'PUT');
    assert.deepEqual(
      puts.map((r) => [r.key, r.ifNoneMatch, r.ifMatch, r.status]),
      [
        ['t/c/a.json', '*', undefined, 200],
        ['t/c/a.json', '*', undefined, 412],
        ['t/c/a.json', undefined, `"${made.etag}"`, 200],
        ['t/c/a.json', undefined, `"${made.etag}"`, 412],
      ],
    );
    const got = await store.get('c/a.json');
    assert.equal(got && 'body' in got ? got.body.toString() : null, 'three');
  });

  test('409 ConditionalRequestConflict is a precondition failure too (the caller re-reads and retries)', async () => {
    s3.conflictNext = 1;
    await assert.rejects(store.put('c/b.json', 'x', { ifNoneMatch: '*' }), StorePreconditionFailedError);
    await store.put('c/b.json', 'x', { ifNoneMatch: '*' });
  });

  test('the registry on S3: concurrent creates give one winner, concurrent updates keep every field, a conflict is retried', async () => {
    const registry = new TagRegistry(store);
    const creates = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => registry.create({ name: 's3:race', description: `w${i}` }, NOW)));
    assert.equal(creates.filter((r) => r.status === 'fulfilled').length, 1);
    assert.ok(creates.every((r) => r.status === 'fulfilled' || (r.reason as { status?: number }).status === 409));
    s3.conflictNext = 2;
    await Promise.all([
      registry.update({ name: 's3:race', description: 'both' }, NOW),
      registry.update({ name: 's3:race', max_budget: 9, budget_duration: '1d' }, NOW),
      registry.update({ name: 's3:race', alert_thresholds: [0.5] }, NOW),
    ]);
    const def = await registry.get('s3:race');
    assert.deepEqual([def?.description, def?.max_budget, def?.budget_duration, def?.alert_thresholds], ['both', 9, '1d', [0.5]]);
    const conditional = s3.requests.filter((r) => r.method === 'PUT' && r.key === `t/${tagKey('s3:race')}`);
    assert.ok(conditional.every((r) => r.ifMatch !== undefined || r.ifNoneMatch === '*'), 'every definition write is conditional');
  });
});
