// A Codex CLI session through the proxy: the requests Codex 0.171.0 sent (recorded into
// test/fixtures/codex-session.json: the Responses API streamed, a custom model provider with a
// tagspend key as Bearer, tags in its http_headers, its session headers, two turns of one
// thread) are replayed, and the records must add up to the usage Codex itself reported for the
// thread. When the real CLI is installed (CODEX_BIN, or `codex` on PATH), one live session is run
// as well.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProxy } from '../helpers/proxy.ts';
import { installedBinary, replayRecorded, startAgentProxy, type Mock, type RecordedRequest, type UpstreamSeen } from '../helpers/recorded-session.ts';

interface CodexUsage {
  input_tokens: number;
  cached_input_tokens: number;
  output_tokens: number;
  reasoning_output_tokens: number;
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/codex-session.json', import.meta.url), 'utf8')) as {
  codex_result: { thread_id: string; usage: CodexUsage };
  requests: RecordedRequest[];
};

const KEY = 'sk-tagspend-codex-1';
const PROVIDER_KEY = 'sk-provider-0000';

const start = () => startAgentProxy('mock', PROVIDER_KEY, { key: KEY, alias: 'codex', tags: ['env:dev'] });

/** The records' tokens in Codex's terms, summed: what `turn.completed` reports for the thread. */
function usageOf(records: ReturnType<TestProxy['records']>): CodexUsage {
  const sum = (f: (r: (typeof records)[number]) => number) => records.reduce((s, r) => s + f(r), 0);
  return {
    input_tokens: sum((r) => r.prompt_tokens),
    cached_input_tokens: sum((r) => r.cached_tokens),
    output_tokens: sum((r) => r.completion_tokens),
    reasoning_output_tokens: sum((r) => r.reasoning_tokens),
  };
}

const codexUsage = (u: CodexUsage): CodexUsage => ({
  input_tokens: u.input_tokens,
  cached_input_tokens: u.cached_input_tokens,
  output_tokens: u.output_tokens,
  reasoning_output_tokens: u.reasoning_output_tokens,
});

describe('a recorded Codex CLI session', () => {
  let mock: Mock;
  let tp: TestProxy;
  let upstream: UpstreamSeen[] = [];

  before(async () => {
    ({ mock, tp } = await start());
    upstream = await replayRecorded(tp.url, mock, fixture.requests, KEY, /event: response\.completed/);
  });

  after(async () => {
    await tp?.close();
    await mock?.close();
  });

  test('its shape: the Responses API streamed, Bearer auth, the session headers, tools and a prompt cache key', () => {
    const [first, second] = fixture.requests;
    for (const r of [first!, second!]) {
      assert.equal(r.path, '/v1/responses');
      assert.match(r.headers.authorization!, /^Bearer /);
      assert.equal(r.headers['session-id'], fixture.codex_result.thread_id);
      assert.equal(r.headers.originator, 'codex_exec');
      assert.equal(JSON.parse(r.headers['x-codex-turn-metadata']!).session_id, fixture.codex_result.thread_id);
      assert.equal(r.headers['x-litellm-tags'], 'team:platform,app:codex');
      assert.equal(r.body.stream, true);
      assert.equal(r.body.store, false);
      assert.equal(r.body.prompt_cache_key, fixture.codex_result.thread_id);
      assert.ok(Array.isArray(r.body.tools) && r.body.tools.length > 0);
      assert.equal(r.body.max_output_tokens, undefined, 'Codex sets no output limit');
    }
    assert.ok(second!.body.input.length > first!.body.input.length, 'the second turn carries the first');
  });

  test('the provider gets the body as sent with its own model id and key, never the client key or the tags', () => {
    fixture.requests.forEach((r, i) => {
      const up = upstream[i]!;
      assert.equal(up.path, '/v1/responses');
      assert.deepEqual({ ...up.body, model: r.body.model }, r.body);
      assert.equal(up.body.model, 'gpt-5-mini');
      assert.equal(up.headers.authorization, `Bearer ${PROVIDER_KEY}`);
      assert.equal(up.headers['x-litellm-tags'], undefined);
    });
  });

  test('one record per turn with the tags and the Codex thread as session_id', () => {
    const records = tp.records();
    assert.equal(records.length, 2);
    for (const rec of records) {
      assert.equal(rec.outcome, 'success');
      assert.equal(rec.endpoint, '/v1/responses');
      assert.equal(rec.provider, 'mock');
      assert.equal(rec.stream, true);
      assert.deepEqual(rec.tags, ['team:platform', 'app:codex', 'env:dev']);
      assert.deepEqual(rec.metadata, { session_id: fixture.codex_result.thread_id });
      assert.ok(rec.cost_usd! > 0);
    }
  });

  test("the records add up to the usage Codex reported for the thread", () => {
    assert.deepEqual(usageOf(tp.records()), codexUsage(fixture.codex_result.usage));
  });
});

const bin = installedBinary('CODEX_BIN', 'codex');

/** `codex exec --json` lines: the thread id and the thread's usage from the last turn. */
async function runCodex(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<{ thread: string; usage: CodexUsage }> {
  const child = spawn(bin!, ['exec', '--skip-git-repo-check', '--json', ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c));
  child.stderr.on('data', (c: Buffer) => (err += c));
  const code = await new Promise((resolve) => child.on('close', resolve));
  assert.equal(code, 0, `${out}\n${err}`);
  const events = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; thread_id?: string; usage?: CodexUsage });
  const thread = events.find((e) => e.type === 'thread.started')?.thread_id;
  const usage = events.filter((e) => e.type === 'turn.completed').at(-1)?.usage;
  assert.ok(thread && usage, out);
  return { thread, usage };
}

describe('the real Codex CLI', { skip: bin ? false : 'Codex not installed (set CODEX_BIN)' }, () => {
  test('a live two-turn session is recorded with its thread as session_id and the usage Codex reports', async () => {
    const { mock, tp } = await start();
    const home = mkdtempSync(join(tmpdir(), 'tagspend-codex-home-'));
    const work = mkdtempSync(join(tmpdir(), 'tagspend-codex-work-'));
    try {
      writeFileSync(
        join(home, 'config.toml'),
        [
          'model = "mock/gpt-5-mini"',
          'model_provider = "tagspend"',
          '[model_providers.tagspend]',
          'name = "tagspend"',
          `base_url = "${tp.url}/v1"`,
          'env_key = "TAGSPEND_KEY"',
          'wire_api = "responses"',
          'http_headers = { "x-litellm-tags" = "team:platform,app:codex" }',
          '',
        ].join('\n'),
      );
      const env = { PATH: process.env.PATH, HOME: home, CODEX_HOME: home, TAGSPEND_KEY: KEY };
      const first = await runCodex(['say hi'], env, work);
      const second = await runCodex(['resume', '--last', 'and once more'], env, work);
      assert.equal(second.thread, first.thread, 'resumed the same thread');
      const records = tp.records().filter((r) => r.endpoint === '/v1/responses');
      assert.equal(records.length, 2);
      assert.ok(records.every((r) => r.metadata.session_id === first.thread && r.tags.includes('team:platform')));
      assert.deepEqual(usageOf(records), codexUsage(second.usage));
    } finally {
      await tp.close();
      await mock.close();
      rmSync(home, { recursive: true, force: true });
      rmSync(work, { recursive: true, force: true });
    }
  });
});
