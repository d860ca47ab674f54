// Coding agents' sessions recorded into test/fixtures/ (Claude Code, Codex) and replayed through
// a test proxy, and the real CLIs when they are installed (.ci/run installs pinned versions).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startMockUpstream } from '../../src/mock/upstream.ts';
import { startTestProxy, type TestProxy } from './proxy.ts';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Record<string, any>;
}

export interface UpstreamSeen {
  path: string;
  headers: Record<string, unknown>;
  body: any;
}

export type Mock = Awaited<ReturnType<typeof startMockUpstream>>;

/**
 * The simulated provider, configured as `provider` with `providerKey`, behind a test proxy where
 * `key` is a client key (alias and tags as given).
 */
export async function startAgentProxy(provider: string, providerKey: string, key: { key: string; alias: string; tags: string[] }): Promise<{ mock: Mock; tp: TestProxy }> {
  const mock = await startMockUpstream();
  const tp = await startTestProxy({
    upstreamUrl: mock.url,
    env: { UP_KEY: providerKey },
    config: { providers: { [provider]: { base_url: mock.url, api_key_env: 'UP_KEY' } }, keys: [key] },
  });
  return { mock, tp };
}

/**
 * Sends each recorded request to the proxy with `key` as the client's Bearer key; each must be
 * answered 200 with an event stream (`completed` checks its text). Returns what the simulated
 * provider received for each.
 */
export async function replayRecorded(proxyUrl: string, mock: Mock, requests: readonly RecordedRequest[], key: string, completed?: RegExp): Promise<UpstreamSeen[]> {
  const upstream: UpstreamSeen[] = [];
  for (const r of requests) {
    const res = await fetch(`${proxyUrl}${r.path}`, { method: r.method, headers: { ...r.headers, authorization: `Bearer ${key}` }, body: JSON.stringify(r.body) });
    assert.equal(res.status, 200, await res.clone().text());
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const text = await res.text();
    if (completed) assert.match(text, completed);
    const seen = mock.lastRequest!;
    upstream.push({ path: seen.path, headers: seen.headers, body: seen.body });
  }
  return upstream;
}

/** A real CLI: the path in `envVar`, else `name` on the PATH, else null (its live test is skipped). */
export function installedBinary(envVar: string, name: string): string | null {
  if (process.env[envVar]) return process.env[envVar]!;
  try {
    return execFileSync('which', [name], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}
