import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startMockUpstream } from '../../src/mock/upstream.ts';
import { startTestProxy, type TestProxy } from '../helpers/proxy.ts';

const MASTER = 'sk-master-0123456789';
const BIN = fileURLToPath(new URL('../../bin/tagspend.js', import.meta.url));
let mock: Awaited<ReturnType<typeof startMockUpstream>>;
let tp: TestProxy;

before(async () => {
  mock = await startMockUpstream();
  tp = await startTestProxy({ upstreamUrl: mock.url, config: { master_key: MASTER } });
});

after(async () => {
  await tp?.close();
  await mock?.close();
});

function tagspend(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, 'tags', ...args, '--url', tp.url], { env: { ...process.env, TAGSPEND_MASTER_KEY: MASTER } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('tagspend tags creates, shows, lists, updates and deletes tags through the API', async () => {
  const made = await tagspend('new', 'app:cli', '--max-budget', '5', '--duration', '1w', '--thresholds', '0.5,0.9', '--json');
  assert.equal(made.code, 0, made.stderr);
  const def = JSON.parse(made.stdout);
  assert.deepEqual([def.name, def.max_budget, def.budget_duration, def.alert_thresholds], ['app:cli', 5, '1w', [0.5, 0.9]]);

  const dup = await tagspend('new', 'app:cli', '--max-budget', '5', '--duration', '1w');
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /HTTP 409: Tag "app:cli" already exists/);
  const bad = await tagspend('update', 'app:cli', '--duration', 'fortnight');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /HTTP 400: .*budget_duration.*\(field: budget_duration\)/);

  const up = await tagspend('update', 'app:cli', '--max-budget', '7.5');
  assert.equal(up.code, 0, up.stderr);
  // /tag/info answers in LiteLLM's shape; the CLI still shows its table.
  const info = await tagspend('info', 'app:cli');
  assert.equal(info.code, 0, info.stderr);
  assert.match(info.stdout.trim().split('\n')[1]!, /^app:cli\s+\$7\.50\s+1w\s/);
  const list = await tagspend('list');
  assert.equal(list.code, 0, list.stderr);
  const lines = list.stdout.trim().split('\n');
  assert.match(lines[0]!, /^TAG\s+BUDGET\s+WINDOW\s+SPEND/);
  assert.match(lines[1]!, /^app:cli\s+\$7\.50\s+1w\s+\$0\.0000\s+\$0\.0000\s+\S+Z\s+ok$/);

  const del = await tagspend('delete', 'app:cli');
  assert.equal(del.code, 0, del.stderr);
  const gone = await tagspend('info', 'app:cli');
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /HTTP 404/);
});
