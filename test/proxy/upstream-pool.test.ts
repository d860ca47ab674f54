// Long-lived streams must not queue inside the proxy behind a fixed connection pool: by default
// there is no cap, and a configured cap shows its queue in /metrics.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startMockUpstream } from '../../src/mock/upstream.ts';
import { hasOpenssl, makeSelfSignedCert } from '../helpers/tls-cert.ts';
import { startTestProxy, waitFor, type TestProxy } from '../helpers/proxy.ts';

/** A provider that holds every streamed answer open until released. */
async function startHoldingUpstream() {
  const held: ServerResponse[] = [];
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n');
      held.push(res);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    get open() {
      return held.length;
    },
    release() {
      for (const res of held.splice(0)) {
        res.write('data: {"id":"c","object":"chat.completion.chunk","model":"m","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}\n\n');
        res.end('data: [DONE]\n\n');
      }
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function stream(url: string): Promise<number> {
  return fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock/m', messages: [{ role: 'user', content: 'hi' }], stream: true }),
  }).then(async (res) => {
    await res.text();
    return res.status;
  });
}

async function metric(url: string, name: string): Promise<number | null> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^${name}\\{provider="mock"\\} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

describe('upstream connections', () => {
  let up: Awaited<ReturnType<typeof startHoldingUpstream>>;
  before(async () => {
    up = await startHoldingUpstream();
  });
  after(async () => {
    up.release();
    await up?.close();
  });

  test('by default 300 concurrent streams all reach the provider at once (no pool cap; 256 was the old default)', async () => {
    const tp: TestProxy = await startTestProxy({ upstreamUrl: up.url });
    try {
      const done = Array.from({ length: 300 }, () => stream(tp.url));
      await waitFor(() => up.open >= 300, '300 streams open at the provider at once', 30_000);
      assert.equal(await metric(tp.url, 'tagspend_upstream_queued_requests'), 0);
      assert.equal(await metric(tp.url, 'tagspend_upstream_active_requests'), 300);
      up.release();
      assert.deepEqual([...new Set(await Promise.all(done))], [200]);
    } finally {
      up.release();
      await tp.close();
    }
  });

  test('with upstream.connections set, requests beyond it wait in the proxy and /metrics shows them queued', async () => {
    const tp: TestProxy = await startTestProxy({ upstreamUrl: up.url, config: { upstream: { connections: 2 } } });
    try {
      const done = Array.from({ length: 5 }, () => stream(tp.url));
      await waitFor(async () => up.open === 2 && (await metric(tp.url, 'tagspend_upstream_queued_requests')) === 3, 'two open, three queued');
      assert.equal(await metric(tp.url, 'tagspend_upstream_connections'), 2);
      // Released in turns: each release frees a connection for a queued stream.
      let finished = 0;
      for (const d of done) void d.then(() => (finished += 1));
      await waitFor(() => {
        up.release();
        return finished === 5;
      }, 'every stream answered');
      assert.deepEqual([...new Set(await Promise.all(done))], [200]);
      assert.equal(await metric(tp.url, 'tagspend_upstream_queued_requests'), 0);
    } finally {
      up.release();
      await tp.close();
    }
  });
});

test('upstream.allow_h2: requests go to an HTTP/2 provider as h2 streams that share connections', { skip: hasOpenssl() ? false : 'no openssl for a test certificate' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tagspend-h2-'));
  const cert = makeSelfSignedCert(dir);
  const mock = await startMockUpstream({ tls: { key: cert.key, cert: cert.cert, http2: true } });
  // Its own process: the test certificate is trusted through NODE_EXTRA_CA_CERTS, read at start.
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/proxy-child.ts'], {
    env: {
      ...process.env,
      NODE_EXTRA_CA_CERTS: cert.certPath,
      TAGSPEND_DATA_DIR: join(dir, 'data'),
      TAGSPEND_PROVIDERS: JSON.stringify({ mock: { base_url: mock.url } }),
      TAGSPEND_UPSTREAM__ALLOW_H2: 'true',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
    const { url } = JSON.parse(line) as { url: string };
    const whole = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(whole.status, 200);
    await whole.arrayBuffer();
    assert.ok(':path' in (mock.lastRequest?.headers ?? {}), 'the provider got an HTTP/2 request');
    const statuses = await Promise.all(
      Array.from({ length: 60 }, async () => {
        const res = await fetch(`${url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'mock/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true, max_tokens: 5, mock_chunk_delay_ms: 50 }),
        });
        const text = await res.text();
        return res.status === 200 && text.includes('[DONE]') ? 200 : res.status;
      }),
    );
    assert.deepEqual([...new Set(statuses)], [200]);
    const text = await (await fetch(`${url}/metrics`)).text();
    const connections = Number(/^tagspend_upstream_connections\{provider="mock"\} (\d+)$/m.exec(text)?.[1]);
    assert.ok(connections >= 1 && connections < 30, `60 concurrent streams shared ${connections} connection(s)`);
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null) await once(child, 'exit');
    await mock.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
