// Customer (end user) and key budgets end to end, key tag authorization (allowed_tags) and tag
// self-service (manage_tags): proxies on the mock provider, the budgets job on the same store.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runJob } from '../../jobs/run/runner.ts';
import { jobSettings } from '../../jobs/run/settings.ts';
import { BLOCKLIST_KEY, parseBlockList } from '../../src/budget/blocklist.ts';
import { loadConfig } from '../../src/config/load.ts';
import { silentLogger } from '../../src/log.ts';
import { startMockUpstream } from '../../src/mock/upstream.ts';
import { LocalStore } from '../../src/store/local.ts';
import { selectRows } from '../../src/db/rows.ts';
import { openWriter } from '../../src/db/open.ts';
import { startTestProxy, type TestProxy } from '../helpers/proxy.ts';

const MASTER = 'sk-master-0123456789';
const KEYS = {
  lead: 'sk-search-lead-0123456789',
  bot: 'sk-search-bot-0123456789',
  capped: 'sk-capped-key-0123456789',
};
const SALT = 'a-salt-of-sixteen-chars';
let mock: Awaited<ReturnType<typeof startMockUpstream>>;
let tp: TestProxy;
let hashed: TestProxy;
let storeDir: string;
let unit = 0;

function keysConfig() {
  return [
    { key: KEYS.lead, alias: 'search-lead', tags: ['team:search'], allowed_tags: ['team:search', 'app:search-*'], manage_tags: true },
    { key: KEYS.bot, alias: 'search-bot', tags: ['team:search'], allowed_tags: ['app:search-*', 'tenant:*'] },
    { key: KEYS.capped, alias: 'capped', max_budget: 0.001, budget_duration: '1d' },
  ];
}

before(async () => {
  storeDir = mkdtempSync(join(tmpdir(), 'tagspend-customers-store-'));
  mock = await startMockUpstream();
  const common = {
    master_key: MASTER,
    keys: keysConfig(),
    store: { url: `file://${storeDir}` },
    budgets: { poll_interval_seconds: 3600, share_interval_seconds: 3600, default_customer_budget: { max_budget: 0.0004, budget_duration: '1d' } },
  };
  tp = await startTestProxy({ upstreamUrl: mock.url, config: common });
  hashed = await startTestProxy({ upstreamUrl: mock.url, config: { ...common, privacy: { hash_user_ids: true, user_id_salt: SALT } } });
});

after(async () => {
  await tp?.close();
  await hashed?.close();
  await mock?.close();
  rmSync(storeDir, { recursive: true, force: true });
});

async function call(p: TestProxy, method: string, path: string, body?: unknown, key = MASTER) {
  const res = await fetch(`${p.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: JSON.parse(text) as any };
}

function chat(p: TestProxy, opts: { key?: string; user?: string; tags?: string; maxTokens?: number } = {}) {
  return fetch(`${p.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${opts.key ?? MASTER}`, 'content-type': 'application/json', ...(opts.tags ? { 'x-litellm-tags': opts.tags } : {}) },
    body: JSON.stringify({ model: 'mock/gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }], max_tokens: opts.maxTokens ?? 40, ...(opts.user ? { user: opts.user } : {}) }),
  }).then(async (res) => ({ status: res.status, headers: res.headers, json: JSON.parse(await res.text()) as any }));
}

async function reconcile(now = new Date()) {
  const dataDir = mkdtempSync(join(tmpdir(), 'tagspend-customers-jobs-'));
  for (const p of [tp, hashed]) {
    p.proxy.writer.rotate();
    assert.ok(await p.proxy.shipper!.drain(10_000));
  }
  const resolved = loadConfig({
    env: {},
    overrides: { data_dir: dataDir, store: { url: `file://${storeDir}` }, keys: keysConfig(), budgets: { default_customer_budget: { max_budget: 0.0004, budget_duration: '1d' } }, jobs: { threads: 2 } },
  });
  const store = new LocalStore(storeDir);
  try {
    const run = await runJob({ job: 'reconcile', trigger: 'cli', full: true }, { settings: jobSettings(resolved), store, log: silentLogger, now: () => now });
    assert.equal(run.status, 'success', run.error ?? '');
    const got = await store.get(BLOCKLIST_KEY);
    assert.ok(got && 'body' in got);
    const db = await openWriter(resolved.paths.dbFile, { threads: 2 });
    try {
      const rows = await selectRows(db.conn, `SELECT subject_kind, subject, budget_source, spend_usd::DOUBLE AS spend, blocked FROM budget_status ORDER BY subject_kind, subject`);
      return { list: parseBlockList(got.body.toString('utf8')), status: rows };
    } finally {
      db.close();
    }
  } finally {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

describe('customer budgets', () => {
  test('/customer/new, info, update, list, delete answer in LiteLLM\'s shapes', async () => {
    const made = await call(tp, 'POST', '/customer/new', { user_id: 'cust-1', alias: 'Acme Ltd', max_budget: 2, budget_duration: '1mo' });
    assert.equal(made.status, 200, JSON.stringify(made.json));
    assert.deepEqual([made.json.user_id, made.json.alias, made.json.blocked, made.json.spend], ['cust-1', 'Acme Ltd', false, 0]);
    assert.deepEqual(
      { ...made.json.litellm_budget_table, budget_reset_at: null },
      { max_budget: 2, soft_budget: null, budget_duration: '1mo', budget_reset_at: null },
    );
    assert.equal(made.json.budget_source, 'own');
    const info = await call(tp, 'GET', '/customer/info?end_user_id=cust-1');
    assert.equal(info.json.alias, 'Acme Ltd');
    const up = await call(tp, 'POST', '/customer/update', { user_id: 'cust-1', max_budget: 3 });
    assert.equal(up.json.litellm_budget_table.max_budget, 3);
    assert.equal(up.json.alias, 'Acme Ltd', 'update changes only the fields given');
    const legacy = await call(tp, 'GET', '/end_user/info?end_user_id=cust-1');
    assert.equal(legacy.status, 200, 'the /end_user/ names work too');
    const list = await call(tp, 'GET', '/customer/list');
    assert.deepEqual(list.json.map((c: any) => c.user_id), ['cust-1']);
    const del = await call(tp, 'POST', '/customer/delete', { user_ids: ['cust-1'] });
    assert.equal(del.json.deleted_customers, 1);
    assert.equal((await call(tp, 'GET', '/customer/info?end_user_id=cust-1')).status, 404);
  });

  test('every bad input to /customer/* is a 4xx naming the problem, never a 500', async () => {
    await call(tp, 'POST', '/customer/new', { user_id: 'dup' });
    const cases: [string, string, unknown, number, string | null][] = [
      ['POST', '/customer/new', {}, 400, 'user_id'],
      ['POST', '/customer/new', { user_id: '' }, 400, 'user_id'],
      ['POST', '/customer/new', { user_id: 42 }, 400, 'user_id'],
      ['POST', '/customer/new', { user_id: 'a\u0001b' }, 400, 'user_id'],
      ['POST', '/customer/new', { user_id: 'x', max_budget: -1, budget_duration: '1d' }, 400, 'max_budget'],
      ['POST', '/customer/new', { user_id: 'x', max_budget: 5 }, 400, 'budget_duration'],
      ['POST', '/customer/new', { user_id: 'x', budget_duration: 'fortnight' }, 400, 'budget_duration'],
      ['POST', '/customer/new', { user_id: 'x', blocked: 'yes' }, 400, 'blocked'],
      ['POST', '/customer/new', { user_id: 'x', budget_id: 'free_tier' }, 400, 'budget_id'],
      ['POST', '/customer/new', { user_id: 'x', colour: 'red' }, 400, 'colour'],
      ['POST', '/customer/new', { user_id: 'dup' }, 400, 'user_id'],
      ['POST', '/customer/new', '{not json', 400, null],
      ['POST', '/customer/new', [1], 400, null],
      ['GET', '/customer/info', undefined, 400, 'end_user_id'],
      ['GET', '/customer/info?end_user_id=nobody', undefined, 404, 'end_user_id'],
      ['POST', '/customer/update', { user_id: 'nobody', max_budget: 1 }, 404, 'user_id'],
      ['POST', '/customer/delete', { user_ids: [] }, 400, 'user_ids'],
      ['POST', '/customer/delete', { user_ids: 'dup' }, 400, 'user_ids'],
      ['POST', '/customer/delete', { user_ids: ['dup', 'nobody'] }, 404, 'user_ids'],
      ['POST', '/customer/block', {}, 400, 'user_ids'],
    ];
    for (const [method, path, body, status, param] of cases) {
      const r = await call(tp, method, path, body);
      assert.equal(r.status, status, `${method} ${path} ${JSON.stringify(body)}: ${JSON.stringify(r.json)}`);
      assert.ok(r.json.error.message.length > 0);
      if (param) assert.equal(r.json.error.param, param, `${path} ${JSON.stringify(body)}: ${r.json.error.message}`);
    }
    assert.equal((await call(tp, 'POST', '/customer/new', { user_id: 'x' }, KEYS.bot)).status, 403, 'a proxy key is not an admin');
    await call(tp, 'POST', '/customer/delete', { user_ids: ['dup'] });
  });

  test('a customer\'s own budget blocks their requests with Customer= and the same 429 contract; a blocked customer gets 403', async () => {
    const probe = await chat(tp, { user: 'probe' });
    unit = Number(probe.headers.get('x-tagspend-cost-usd'));
    await call(tp, 'POST', '/customer/new', { user_id: 'cust-2', max_budget: unit * 1.5, budget_duration: '1d' });
    assert.equal((await chat(tp, { user: 'cust-2' })).status, 200);
    assert.equal((await chat(tp, { user: 'cust-2' })).status, 200);
    const blocked = await chat(tp, { user: 'cust-2' });
    assert.equal(blocked.status, 429);
    assert.deepEqual(Object.keys(blocked.json.error).sort(), ['code', 'message', 'param', 'type']);
    assert.match(blocked.json.error.message, /^Budget has been exceeded! Customer=cust-2 Current cost: [\d.e-]+, Max budget: [\d.e-]+$/);
    assert.equal(blocked.headers.get('x-should-retry'), 'false');
    assert.equal((await chat(tp, { user: 'other-customer' })).status, 200);

    await call(tp, 'POST', '/customer/new', { user_id: 'banned', blocked: true });
    const banned = await chat(tp, { user: 'banned' });
    assert.equal(banned.status, 403);
    assert.equal(banned.json.error.message, 'Customer=banned is blocked');
    assert.equal((await call(tp, 'POST', '/customer/unblock', { user_ids: ['banned'] })).status, 200);
    assert.equal((await chat(tp, { user: 'banned' })).status, 200);
  });

  test('the default customer budget holds every customer without one of their own', async () => {
    // 0.0004 USD a day: a dozen requests of ~$0.00003.
    let status = 200;
    let n = 0;
    while (status === 200 && n < 100) {
      status = (await chat(tp, { user: 'walk-in' })).status;
      n += 1;
    }
    assert.equal(status, 429);
    assert.ok(n > 3, `several requests passed first (${n})`);
    const info = await call(tp, 'GET', '/customer/list');
    assert.ok(!info.json.some((c: any) => c.user_id === 'walk-in'), 'no definition was needed');
  });

  test('with hash_user_ids the budget keys on the stored (hashed) id: definitions, blocking and the job agree', async () => {
    const stored = createHmac('sha256', SALT).update('alice').digest('hex');
    const made = await call(hashed, 'POST', '/customer/new', { user_id: 'alice', max_budget: unit * 1.5, budget_duration: '1d' });
    assert.equal(made.json.user_id, 'alice');
    assert.equal(made.json.stored_user_id, stored);
    assert.equal((await chat(hashed, { user: 'alice' })).status, 200);
    assert.equal((await chat(hashed, { user: 'alice' })).status, 200);
    const r = await chat(hashed, { user: 'alice' });
    assert.equal(r.status, 429);
    assert.match(r.json.error.message, new RegExp(`Customer=${stored} `));
    assert.ok(hashed.records().every((x) => x.user !== 'alice'), 'the raw id is never stored');
    const listed = await call(hashed, 'GET', '/customer/list');
    assert.ok(listed.json.some((c: any) => c.user_id === stored), 'the list knows only the stored form');
  });
});

describe('key budgets and tag authorization', () => {
  test('a key\'s max_budget blocks its requests with Key=<alias>', async () => {
    let r;
    let n = 0;
    do {
      r = await chat(tp, { key: KEYS.capped, maxTokens: 400 });
      n += 1;
    } while (r.status === 200 && n < 100);
    assert.equal(r.status, 429);
    assert.match(r.json.error.message, /^Budget has been exceeded! Key=capped Current cost: /);
  });

  test('allowed_tags: a tag outside the key\'s globs is a 403 naming the tag, and still one record', async () => {
    assert.equal((await chat(tp, { key: KEYS.bot, tags: 'app:search-web,tenant:acme' })).status, 200, 'globs match');
    const r = await chat(tp, { key: KEYS.bot, tags: 'app:search-web,dept:finance' });
    assert.equal(r.status, 403);
    assert.equal(r.json.error.param, 'tags');
    assert.match(r.json.error.message, /Key "search-bot" may not put the tag "dept:finance" on requests/);
    const recs = tp.records().filter((x) => x.request_id === r.headers.get('x-tagspend-request-id'));
    assert.equal(recs.length, 1);
    assert.deepEqual([recs[0]!.outcome, recs[0]!.status, recs[0]!.key_alias], ['invalid_request', 403, 'search-bot']);
    assert.equal((await chat(tp, { key: KEYS.bot })).status, 200, 'the key\'s own tag team:search is always allowed');
  });

  test('manage_tags: a team lead manages the team\'s own tags, 403 for others, and the history says who changed what', async () => {
    const made = await call(tp, 'POST', '/tag/new', { name: 'app:search-web', max_budget: 20, budget_duration: '1mo' }, KEYS.lead);
    assert.equal(made.status, 200, JSON.stringify(made.json));
    const up = await call(tp, 'POST', '/tag/update', { name: 'app:search-web', max_budget: 25 }, KEYS.lead);
    assert.equal(up.json.updated_by, 'search-lead');
    await call(tp, 'POST', '/tag/update', { name: 'app:search-web', description: 'the web app' });
    const info = (await call(tp, 'GET', '/tag/info?names=app:search-web', undefined, KEYS.lead)).json[0];
    assert.deepEqual(
      info.history.map((h: any) => [h.by, h.action, h.fields]),
      [
        ['search-lead', 'created', { max_budget: 20, budget_duration: '1mo' }],
        ['search-lead', 'updated', { max_budget: 25 }],
        ['master', 'updated', { description: 'the web app' }],
      ],
    );
    assert.equal(info.created_by, 'search-lead');
    assert.equal(info.updated_by, 'master');

    const other = await call(tp, 'POST', '/tag/new', { name: 'team:billing', max_budget: 1, budget_duration: '1d' }, KEYS.lead);
    assert.equal(other.status, 403);
    assert.match(other.json.error.message, /may not manage the tag "team:billing"/);
    assert.equal((await call(tp, 'POST', '/tag/new', { name: 'app:search-x' }, KEYS.bot)).status, 403, 'a key without manage_tags');
    assert.equal((await call(tp, 'POST', '/tag/new', { name: 'team:billing', max_budget: 1, budget_duration: '1d' })).status, 200, 'the master key manages everything');
    const listed = await call(tp, 'GET', '/tag/list', undefined, KEYS.lead);
    assert.ok(listed.json.every((t: any) => t.name === 'team:search' || t.name.startsWith('app:search-')), JSON.stringify(listed.json.map((t: any) => t.name)));
    assert.equal((await call(tp, 'POST', '/tag/info', { names: ['team:billing'] }, KEYS.lead)).status, 403);
  });

  test('the budgets job evaluates customers and keys: block-list entries and budget_status rows by subject kind', async () => {
    const { list, status } = await reconcile();
    const customers = new Map(list.customers.map((c) => [c.id, c]));
    assert.equal(customers.get('cust-2')!.blocked, true);
    assert.equal(customers.get('walk-in')!.blocked, true, 'a default-budget customer is carried too');
    assert.equal(customers.get('walk-in')!.max_budget, 0.0004);
    const stored = createHmac('sha256', SALT).update('alice').digest('hex');
    assert.equal(customers.get(stored)!.blocked, true);
    const key = list.keys.find((k) => k.alias === 'capped')!;
    assert.equal(key.blocked, true);
    assert.ok(key.spend >= 0.001);
    const row = (kind: string, subject: string) => status.find((s) => s.subject_kind === kind && s.subject === subject);
    assert.deepEqual([row('customer', 'cust-2')?.blocked, row('customer', 'cust-2')?.budget_source], [true, 'own']);
    assert.deepEqual([row('customer', 'walk-in')?.blocked, row('customer', 'walk-in')?.budget_source], [true, 'default']);
    assert.equal(row('key', 'capped')?.blocked, true);
    assert.equal(row('tag', 'app:search-web')?.blocked, false);

    // A proxy that polls the new block-list still blocks them (reconciled now, not own spend).
    await tp.proxy.budgets!.pollNow();
    const info = await call(tp, 'GET', '/customer/info?end_user_id=cust-2');
    assert.ok(info.json.reconciled_spend > 0);
    assert.equal((await chat(tp, { user: 'cust-2' })).status, 429);
  });
});
