// A Claude Code session through the proxy: the request shape Claude Code 2.1.332 sent (recorded
// into test/fixtures/claude-code-session.json: Bearer auth, custom tag header, the beta list,
// thinking / context_management / output_config, a tool call and its result, streaming) is
// replayed, and the records must add up to the cost Claude Code itself printed. When the real
// CLI is installed (CLAUDE_CODE_BIN, or `claude` on PATH), one live session is run as well.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProxy } from '../helpers/proxy.ts';
import { installedBinary, replayRecorded, startAgentProxy, type Mock, type RecordedRequest, type UpstreamSeen } from '../helpers/recorded-session.ts';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/claude-code-session.json', import.meta.url), 'utf8')) as {
  claude_code_result: { total_cost_usd: number; session_id: string };
  requests: RecordedRequest[];
};

const KEY = 'sk-tagspend-claude-code-1';
const PROVIDER_KEY = 'sk-ant-provider-0000';
const usd = (n: number) => Math.round(n * 1e10) / 1e10;

const start = () => startAgentProxy('anthropic', PROVIDER_KEY, { key: KEY, alias: 'claude-code', tags: ['app:claude-code'] });

describe('a recorded Claude Code session', () => {
  let mock: Mock;
  let tp: TestProxy;
  let upstream: UpstreamSeen[] = [];

  before(async () => {
    ({ mock, tp } = await start());
    upstream = await replayRecorded(tp.url, mock, fixture.requests, KEY);
  });

  after(async () => {
    await tp?.close();
    await mock?.close();
  });

  test('its shape: Bearer auth, streaming, the beta list, thinking and tools, a tool call and its result', () => {
    const [first, second] = fixture.requests;
    assert.match(first!.headers.authorization!, /^Bearer /);
    assert.equal(first!.headers['x-app'], 'cli');
    assert.equal(first!.headers['x-claude-code-session-id'], fixture.claude_code_result.session_id);
    assert.equal(first!.headers['x-litellm-tags'], 'team:platform');
    assert.ok(first!.headers['anthropic-beta']!.split(',').length >= 5);
    assert.equal(first!.body.stream, true);
    assert.equal(first!.body.max_tokens, 128000);
    assert.equal(first!.body.model, 'claude-opus-5-5');
    for (const field of ['thinking', 'context_management', 'output_config', 'tools', 'metadata']) assert.ok(first!.body[field], field);
    assert.ok(second!.body.messages.some((m: any) => m.role === 'assistant' && m.content.some((c: any) => c.type === 'tool_use')));
    assert.ok(second!.body.messages.at(-1).content.some((c: any) => c.type === 'tool_result'));
  });

  test('the provider gets the body as sent, the beta list and version, its own key and the query string', () => {
    fixture.requests.forEach((r, i) => {
      const up = upstream[i]!;
      assert.deepEqual(up.body, r.body, 'thinking, context_management, output_config, metadata.user_id forwarded as sent');
      assert.equal(up.path, '/v1/messages?beta=true');
      assert.equal(up.headers['anthropic-beta'], r.headers['anthropic-beta']);
      assert.equal(up.headers['anthropic-version'], '2023-06-01');
      assert.equal(up.headers['x-api-key'], PROVIDER_KEY);
      assert.equal(up.headers.authorization, undefined);
      assert.equal(up.headers['x-litellm-tags'], undefined);
    });
  });

  test('one record per turn with tags, session id and device as user, cache reads on the second turn', () => {
    const records = tp.records();
    assert.equal(records.length, 2);
    const userId = JSON.parse(fixture.requests[0]!.body.metadata.user_id) as { device_id: string; session_id: string };
    for (const rec of records) {
      assert.equal(rec.outcome, 'success');
      assert.equal(rec.endpoint, '/v1/messages');
      assert.equal(rec.provider, 'anthropic');
      assert.equal(rec.stream, true);
      assert.deepEqual(rec.tags, ['team:platform', 'app:claude-code']);
      assert.deepEqual(rec.metadata, { session_id: fixture.claude_code_result.session_id });
      assert.equal(rec.metadata.session_id, userId.session_id);
      assert.equal(rec.user, userId.device_id, 'no account offline: the device is the user');
    }
    assert.equal(records[0]!.cached_tokens, 0);
    assert.ok(records[0]!.cache_write_tokens > 0);
    assert.ok(records[1]!.cached_tokens > 0, 'the second turn reads the prefix the first wrote');
  });

  test("the records add up to Claude Code's own total_cost_usd", () => {
    const sum = tp.records().reduce((s, r) => s + r.cost_usd!, 0);
    assert.equal(usd(sum), usd(fixture.claude_code_result.total_cost_usd));
  });
});

const bin = installedBinary('CLAUDE_CODE_BIN', 'claude');

describe('the real Claude Code CLI', { skip: bin ? false : 'Claude Code not installed (set CLAUDE_CODE_BIN)' }, () => {
  test('a live session with a tool call is recorded and priced to what Claude Code reports', async () => {
    const { mock, tp } = await start();
    const home = mkdtempSync(join(tmpdir(), 'tagspend-cc-home-'));
    const work = mkdtempSync(join(tmpdir(), 'tagspend-cc-work-'));
    try {
      writeFileSync(join(work, 'NOTES.md'), '# notes\n');
      const prompt = `Read my notes. [mock-tool:Read {"file_path":"${join(work, 'NOTES.md')}"}]`;
      const child = spawn(bin!, ['-p', prompt, '--output-format', 'json'], {
        cwd: work,
        env: {
          PATH: process.env.PATH,
          HOME: home,
          ANTHROPIC_BASE_URL: tp.url,
          ANTHROPIC_AUTH_TOKEN: KEY,
          ANTHROPIC_CUSTOM_HEADERS: 'x-litellm-tags: team:platform',
          CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c));
      const code = await new Promise((resolve) => child.on('close', resolve));
      assert.equal(code, 0, out);
      const result = JSON.parse(out) as { total_cost_usd: number; num_turns: number; session_id: string };
      const records = tp.records().filter((r) => r.endpoint === '/v1/messages');
      assert.equal(records.length, result.num_turns);
      assert.ok(records.every((r) => r.metadata.session_id === result.session_id && r.tags.includes('team:platform')));
      assert.equal(usd(records.reduce((s, r) => s + r.cost_usd!, 0)), usd(result.total_cost_usd));
    } finally {
      await tp.close();
      await mock.close();
      rmSync(home, { recursive: true, force: true });
      rmSync(work, { recursive: true, force: true });
    }
  });
});
