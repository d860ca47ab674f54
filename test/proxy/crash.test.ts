import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startMockUpstream } from '../../src/mock/upstream.ts';

test('kill -9 under load loses no record of a request whose response was complete', async () => {
  const mock = await startMockUpstream();
  const dataDir = mkdtempSync(join(tmpdir(), 'tagspend-crash-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/proxy-child.ts'], {
    env: {
      ...process.env,
      TAGSPEND_DATA_DIR: dataDir,
      TAGSPEND_PROVIDERS: JSON.stringify({ mock: { base_url: mock.url } }),
      TAGSPEND_SPEND_LOG__SEGMENT_MAX_AGE_SECONDS: '3600',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
    const { url } = JSON.parse(line) as { url: string };
    const answered = new Set<string>();
    let stop = false;
    const deadline = Date.now() + 20_000;
    const worker = async () => {
      while (!stop && Date.now() < deadline) {
        try {
          const res = await fetch(`${url}/v1/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-litellm-tags': 'app:crash-test' },
            body: JSON.stringify({ model: 'mock/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }),
          });
          await res.arrayBuffer();
          if (res.status === 200) answered.add(res.headers.get('x-tagspend-request-id')!);
        } catch {
          return; // the proxy is gone
        }
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    while (answered.size < 300 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGKILL');
    await once(child, 'exit');
    stop = true;
    await Promise.all(workers);
    assert.ok(answered.size >= 300, `traffic flowed (${answered.size} answered)`);

    const spool = join(dataDir, 'spool');
    const ids: string[] = [];
    for (const name of readdirSync(spool)) {
      if (!name.includes('.ndjson')) continue;
      for (const l of readFileSync(join(spool, name), 'utf8').split('\n')) if (l) ids.push(JSON.parse(l).request_id);
    }
    const stored = new Set(ids);
    assert.equal(stored.size, ids.length, 'no request id twice');
    const missing = [...answered].filter((id) => !stored.has(id));
    assert.deepEqual(missing, [], 'every answered request has its record');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await mock.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
