import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { runDemo } from '../../src/demo/run.ts';
import { demoTraffic, DEMO_BUDGET_TAG } from '../../src/demo/traffic.ts';
import { silentLogger } from '../../src/log.ts';

test('demo traffic is deterministic for a seed and covers every attribution source', () => {
  assert.deepEqual(demoTraffic(50, 7), demoTraffic(50, 7));
  const t = demoTraffic(400);
  assert.ok(t.some((r) => r.stream));
  assert.ok(t.some((r) => String(r.body.model).startsWith('mock/error-')));
  assert.ok(t.some((r) => r.path === '/v1/embeddings') && t.some((r) => r.path === '/v1/responses'));
  assert.ok(t.some((r) => r.path === '/v1/messages' && r.headers['x-claude-code-session-id']), 'Claude Code traffic on the Messages API');
  assert.ok(t.every((r) => r.headers['x-litellm-tags']));
  assert.ok(new Set(t.map((r) => r.body.user)).size > 100);
});

test('the demo runs the whole loop: every request lands in DuckDB once and the budgeted tag gets blocked', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tagspend-demo-'));
  const lines: string[] = [];
  try {
    const result = await runDemo({
      overrides: { data_dir: dataDir },
      requests: 400,
      concurrency: 8,
      budgetUsd: 0.05,
      logger: silentLogger,
      out: (l) => lines.push(l),
    });
    assert.equal(result.sent, 400);
    assert.ok(result.blocked > 0, 'the budgeted app was blocked by the proxy');
    const text = lines.join('\n');
    assert.match(text, /reconcile #\d+ success objects=\d+ rows=400 /);
    assert.match(text, /campaign-writer/);
    assert.match(text, new RegExp(`blocked: ${DEMO_BUDGET_TAG}`));

    const db = await DuckDBInstance.create(result.snapshotFile, { access_mode: 'READ_ONLY' });
    const conn = await db.connect();
    try {
      const rows = (await conn.runAndReadAll(
        "SELECT count(*)::INTEGER AS n, count(DISTINCT request_id)::INTEGER AS ids, count(*) FILTER (WHERE outcome = 'blocked')::INTEGER AS blocked FROM spend_logs",
      )).getRowObjectsJson()[0]!;
      assert.equal(rows.n, 400);
      assert.equal(rows.ids, 400);
      assert.equal(rows.blocked, result.blocked);
      const messages = (await conn.runAndReadAll(
        "SELECT count(*)::INTEGER AS n, count(*) FILTER (WHERE cached_tokens > 0)::INTEGER AS cache_reads, count(DISTINCT metadata['session_id'])::INTEGER AS sessions, count(*) FILTER (WHERE cost_usd > 0)::INTEGER AS priced FROM spend_logs WHERE endpoint = '/v1/messages' AND outcome = 'success'",
      )).getRowObjectsJson()[0]!;
      assert.ok(Number(messages.n) > 10, 'Anthropic-native traffic was recorded');
      assert.ok(Number(messages.cache_reads) > 0, 'the cached system prompt was read back');
      assert.ok(Number(messages.sessions) > 1);
      assert.equal(messages.priced, messages.n);
    } finally {
      conn.closeSync();
      db.closeSync();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
