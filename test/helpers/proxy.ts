// Starts a real proxy on 127.0.0.1:0 with a temp data directory, pointed at a provider URL,
// and reads back the spend records it wrote.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { startMockUpstream, type MockUpstream } from '../../src/mock/upstream.ts';
import { silentLogger } from '../../src/log.ts';
import { startProxy, type ProxyOptions, type RunningProxy } from '../../src/proxy/server.ts';
import type { SpendRecord } from '../../src/spend/record.ts';

export interface TestProxy {
  url: string;
  proxy: RunningProxy;
  dataDir: string;
  /** Every record in the spool (active and closed segments), in write order. */
  records(): SpendRecord[];
  close(): Promise<void>;
}

export async function startTestProxy(options: {
  upstreamUrl: string;
  config?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  proxyOptions?: Partial<ProxyOptions>;
  dataDir?: string;
}): Promise<TestProxy> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'tagspend-proxy-'));
  const resolved = loadConfig({
    env: options.env ?? {},
    overrides: {
      host: '127.0.0.1',
      port: 0,
      data_dir: dataDir,
      // Long segments: the records stay in the spool where the test reads them.
      spend_log: { segment_max_age_seconds: 3600 },
      providers: { mock: { base_url: options.upstreamUrl } },
      ...options.config,
    },
  });
  const proxy = await startProxy(resolved, { logger: silentLogger, ...options.proxyOptions });
  const spool = resolved.paths.spool;
  return {
    url: proxy.url,
    proxy,
    dataDir,
    records() {
      const out: SpendRecord[] = [];
      for (const name of readdirSync(spool).sort()) {
        if (!name.endsWith('.ndjson') && !name.endsWith('.ndjson.active')) continue;
        for (const line of readFileSync(join(spool, name), 'utf8').split('\n')) {
          if (line) out.push(JSON.parse(line) as SpendRecord);
        }
      }
      return out;
    },
    async close() {
      await proxy.close(2000);
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls until `check` returns a truthy value or the deadline passes. */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * The simulated provider and a default proxy in front of it, started before the enclosing
 * suite's tests (or the file's) and closed after them.
 */
export function proxyWithMock(): { readonly mock: MockUpstream; readonly tp: TestProxy } {
  const held: { mock?: MockUpstream; tp?: TestProxy } = {};
  before(async () => {
    held.mock = await startMockUpstream();
    held.tp = await startTestProxy({ upstreamUrl: held.mock.url });
  });
  after(async () => {
    await held.tp?.close();
    await held.mock?.close();
  });
  return {
    get mock() {
      return held.mock!;
    },
    get tp() {
      return held.tp!;
    },
  };
}
