// A full disk under the spool: no request is answered without its record, no provider call is
// made for spend that cannot be recorded (507), readiness says so, the proxy recovers when
// space returns, and shutdown completes. Once with an injected write error (ENOSPC from the
// record writer's write(2), a torn half-line first), once on a real 2 MiB tmpfs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs, { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { startMockUpstream, type MockUpstream } from '../../src/mock/upstream.ts';
import type { SpendRecord } from '../../src/spend/record.ts';
import { startTestProxy, waitFor, type TestProxy } from '../helpers/proxy.ts';

/** Makes write(2) to files under `dir` fail with ENOSPC (after writing half of the first one). */
function injectEnospc(dir: string): { active: boolean; restore(): void } {
  const real = fs.writeSync;
  const state = { active: true, tornOnce: true };
  const under = (fd: number) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir);
    } catch {
      return false;
    }
  };
  (fs as { writeSync: unknown }).writeSync = function (fd: number, buffer: string | NodeJS.ArrayBufferView, ...rest: unknown[]) {
    if (state.active && typeof fd === 'number' && under(fd)) {
      if (state.tornOnce && typeof buffer === 'string' && buffer.length > 10) {
        state.tornOnce = false;
        return real(fd, buffer.slice(0, Math.floor(buffer.length / 2))); // a short write: the rest fails
      }
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    }
    return (real as (...a: unknown[]) => number)(fd, buffer, ...rest);
  };
  return {
    get active() {
      return state.active;
    },
    set active(on: boolean) {
      state.active = on;
    },
    restore() {
      (fs as { writeSync: unknown }).writeSync = real;
    },
  };
}

/** Every line of every segment in the spool, each must parse (no torn line). */
function spoolRecords(spool: string): SpendRecord[] {
  const out: SpendRecord[] = [];
  for (const name of readdirSync(spool).sort()) {
    if (!name.endsWith('.ndjson') && !name.endsWith('.ndjson.active')) continue;
    for (const line of readFileSync(join(spool, name), 'utf8').split('\n')) if (line) out.push(JSON.parse(line) as SpendRecord);
  }
  return out;
}

const CHAT = { model: 'mock/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 };

describe('injected write errors (ENOSPC)', () => {
  let mock: MockUpstream;
  let tp: TestProxy;
  let spool: string;
  before(async () => {
    mock = await startMockUpstream();
    tp = await startTestProxy({ upstreamUrl: mock.url, config: { spend_log: { segment_max_age_seconds: 3600, min_free_bytes: 0 } } });
    spool = resolve(tp.dataDir, 'spool');
  });
  after(async () => {
    await tp?.close();
    await mock?.close();
  });

  async function post(body: object = CHAT) {
    const res = await fetch(`${tp.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, id: res.headers.get('x-tagspend-request-id')!, text };
  }

  const ready = async () => (await fetch(`${tp.url}/health/readiness`)).status;

  test('507 instead of an answer without a record, then no provider call until the disk recovers; the late record says 507', async () => {
    const first = await post();
    assert.equal(first.status, 200);
    const fault = injectEnospc(spool);
    try {
      const calls = mock.requests;
      const withheld = await post();
      assert.equal(withheld.status, 507, 'the answer is withheld: its record could not be written');
      assert.equal(JSON.parse(withheld.text).error.code, 'spend_log_unavailable');
      assert.equal(mock.requests, calls + 1, 'that request had reached the provider');

      const refused = await post();
      assert.equal(refused.status, 507);
      assert.match(JSON.parse(refused.text).error.message, /ENOSPC.*not sent to the provider/);
      const stream = await post({ ...CHAT, stream: true });
      assert.equal(stream.status, 507);
      assert.equal(mock.requests, calls + 1, 'no provider call while records cannot be written');

      const readiness = await fetch(`${tp.url}/health/readiness`);
      assert.equal(readiness.status, 503);
      assert.match(JSON.stringify(await readiness.json()), /ENOSPC/);
      assert.match(await (await fetch(`${tp.url}/metrics`)).text(), /^tagspend_spend_log_writable 0$/m);

      fault.active = false;
      await waitFor(async () => (await ready()) === 200, 'readiness after the disk recovers');
      const after = await post();
      assert.equal(after.status, 200);

      const records = spoolRecords(spool); // parses every line: the torn half-line was cut
      const byId = (id: string) => records.filter((r) => r.request_id === id);
      for (const r of [first, after]) assert.equal(byId(r.id).length, 1);
      for (const r of [withheld, refused, stream]) {
        assert.equal(byId(r.id).length, 1, 'exactly one record, written late');
        assert.deepEqual([byId(r.id)[0]!.outcome, byId(r.id)[0]!.status], ['proxy_error', 507]);
      }
      assert.ok(byId(withheld.id)[0]!.cost_usd! > 0, 'the withheld answer was paid for: its cost is recorded');
    } finally {
      fault.restore();
    }
  });

  test('a stream whose record cannot be written is cut before its terminal event', async () => {
    const fault = injectEnospc(spool);
    fault.active = false;
    try {
      const res = await fetch(`${tp.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...CHAT, stream: true, max_tokens: 30, mock_chunk_delay_ms: 10 }),
      });
      assert.equal(res.status, 200);
      const reader = res.body!.getReader();
      let text = new TextDecoder().decode((await reader.read()).value);
      fault.active = true; // the disk fills while the answer streams
      let cut = false;
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          text += new TextDecoder().decode(value);
        }
      } catch {
        cut = true;
      }
      assert.ok(cut, 'the stream ends in an error, not a clean end');
      assert.doesNotMatch(text, /\[DONE\]/, 'the client never saw the end of the answer');
    } finally {
      fault.restore();
    }
    await waitFor(async () => (await ready()) === 200, 'readiness after the disk recovers');
  });

  test('shutdown completes while records cannot be written', async () => {
    const mock2 = await startMockUpstream();
    const tp2 = await startTestProxy({ upstreamUrl: mock2.url, config: { spend_log: { segment_max_age_seconds: 3600, min_free_bytes: 0 } } });
    const fault = injectEnospc(resolve(tp2.dataDir, 'spool'));
    try {
      const res = await fetch(`${tp2.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(CHAT) });
      assert.equal(res.status, 507);
      await res.arrayBuffer();
      const started = Date.now();
      await tp2.proxy.close(5000);
      assert.ok(Date.now() - started < 5000, 'closed without waiting for the disk');
    } finally {
      fault.restore();
      rmSync(tp2.dataDir, { recursive: true, force: true });
      await mock2.close();
    }
  });
});

test('min_free_bytes: below it, requests are refused before the provider is called and readiness is 503', async () => {
  const mock = await startMockUpstream();
  // More than any disk has: the check trips at once.
  const tp = await startTestProxy({ upstreamUrl: mock.url, config: { spend_log: { segment_max_age_seconds: 3600, min_free_bytes: 2 ** 52 } } });
  try {
    const res = await fetch(`${tp.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(CHAT) });
    assert.equal(res.status, 507);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /below spend_log\.min_free_bytes/);
    assert.equal(mock.requests, 0);
    assert.equal((await fetch(`${tp.url}/health/readiness`)).status, 503);
    const recs = tp.records();
    assert.deepEqual(recs.map((r) => [r.outcome, r.status]), [['proxy_error', 507]], 'the refusal is recorded (the reserve holds it)');
  } finally {
    await tp.close();
    await mock.close();
  }
});

const canUnshare = spawnSync('unshare', ['-rm', 'true']).status === 0;

test('on a real 2 MiB tmpfs: every answered request has its record, refusals are 507, shutdown completes', { skip: canUnshare ? false : 'unshare -rm (user and mount namespaces) is not available' }, async () => {
  const mock = await startMockUpstream();
  const outside = mkdtempSync(join(tmpdir(), 'tagspend-tmpfs-'));
  const mnt = join(outside, 'mnt');
  const copy = join(outside, 'copy');
  fs.mkdirSync(mnt);
  fs.mkdirSync(copy);
  // A private mount namespace: the tmpfs exists for this child only. After the proxy exits the
  // shell copies the spool out, so the records can be checked here.
  const script = [
    `mount -t tmpfs -o size=2m tmpfs "${mnt}"`,
    `head -c 1800k /dev/zero > "${mnt}/filler"`,
    `"${process.execPath}" --import tsx test/helpers/proxy-child.ts`,
    'status=$?',
    `cp -a "${mnt}/spool/." "${copy}/"`,
    'exit $status',
  ].join('\n');
  const child = spawn('unshare', ['-rm', 'sh', '-c', script], {
    env: {
      ...process.env,
      TAGSPEND_DATA_DIR: mnt,
      TAGSPEND_STORE__URL: `file://${join(outside, 'store')}`,
      TAGSPEND_PROVIDERS: JSON.stringify({ mock: { base_url: mock.url } }),
      TAGSPEND_SPEND_LOG__SEGMENT_MAX_AGE_SECONDS: '3600',
      TAGSPEND_SPEND_LOG__MIN_FREE_BYTES: '0',
      TAGSPEND_SPEND_LOG__SHUTDOWN_DEADLINE_SECONDS: '5',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
    const { url, pid } = JSON.parse(line) as { url: string; pid: number };
    const answered: string[] = [];
    let refused = 0;
    let sawUnready = false;
    // Until the disk is full and requests are refused.
    for (let i = 0; i < 2000 && refused < 20; i++) {
      const res = await fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-litellm-tags': `app:${'x'.repeat(200)}` },
        body: JSON.stringify(CHAT),
      });
      await res.arrayBuffer();
      if (res.status === 200) answered.push(res.headers.get('x-tagspend-request-id')!);
      else {
        assert.equal(res.status, 507);
        refused += 1;
        if (!sawUnready) sawUnready = (await fetch(`${url}/health/readiness`)).status === 503;
      }
    }
    assert.ok(answered.length > 10, `requests were answered before the disk filled (${answered.length})`);
    assert.equal(refused, 20, 'then refused with 507');
    assert.ok(sawUnready, 'readiness was 503 while full');
    process.kill(pid, 'SIGTERM');
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 0, 'shutdown completed');
    const stored = new Set(spoolRecords(copy).map((r) => r.request_id));
    assert.deepEqual(answered.filter((id) => !stored.has(id)), [], 'every answered request has its record');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await mock.close();
    rmSync(outside, { recursive: true, force: true });
  }
});
