// `tagspend proxy` as a child process, exactly as an operator runs it (bin/tagspend.js, config
// from TAGSPEND_* variables), on port 0 with --port-file telling us the port it bound.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './proxy.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliProxy {
  url: string;
  child: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The end of its stderr (operational log), for failure messages. */
  stderr(): string;
}

export async function spawnCliProxy(options: { dataDir: string; env: Record<string, string> }): Promise<CliProxy> {
  const portFile = join(options.dataDir, 'port');
  rmSync(portFile, { force: true });
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin/tagspend.js'), 'proxy', '--host', '127.0.0.1', '--port', '0', '--data-dir', options.dataDir, '--port-file', portFile],
    { cwd: ROOT, env: { ...process.env, TAGSPEND_LOG_LEVEL: 'warn', ...options.env }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    err = (err + chunk.toString()).slice(-8000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const port = await waitFor(
    () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`proxy exited during start: ${err}`);
      try {
        return Number(readFileSync(portFile, 'utf8').trim()) || null;
      } catch {
        return null;
      }
    },
    'the proxy to listen',
    30_000,
  );
  return { url: `http://127.0.0.1:${port}`, child, exited, stderr: () => err };
}

/** The configuration a fault test gives its proxy child: S3 store, mock provider, fast rotation. */
export function faultTestEnv(o: { s3Endpoint: string; bucket: string; prefix: string; upstreamUrl: string }): Record<string, string> {
  return {
    TAGSPEND_STORE__URL: `s3://${o.bucket}/${o.prefix}`,
    TAGSPEND_STORE__S3__ENDPOINT: o.s3Endpoint,
    TAGSPEND_STORE__S3__REGION: 'us-east-1',
    TAGSPEND_STORE__S3__FORCE_PATH_STYLE: 'true',
    TAGSPEND_STORE__S3__CHECKSUMS: 'when_required',
    TAGSPEND_PROVIDERS: JSON.stringify({ mock: { base_url: o.upstreamUrl } }),
    TAGSPEND_SPEND_LOG__SEGMENT_MAX_AGE_SECONDS: '0.3',
    // Retries keep their shape but stay short, so recovery shows within a test's time.
    TAGSPEND_SPEND_LOG__SHIP_RETRY_MAX_SECONDS: '1',
    TAGSPEND_SPEND_LOG__SHUTDOWN_DEADLINE_SECONDS: '20',
  };
}
