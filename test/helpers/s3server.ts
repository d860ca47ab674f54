// A real S3-compatible server for tests: s3rver 3.7.1 in its own process on 127.0.0.1, on an
// ephemeral port that survives stop()/start(), so fault tests can take S3 away and bring it back
// with the same data.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./s3rver-child.mjs', import.meta.url));
const START_DEADLINE_MS = 15_000;
export const TEST_BUCKET = 'tagspend-test';

export interface S3Server {
  endpoint: string;
  port: number;
  dir: string;
  bucket: string;
  /** Stop the process (graceful, open connections dropped); the data stays in `dir`. */
  stop(): Promise<void>;
  /** Start again on the same port and directory. */
  start(): Promise<void>;
  /** SIGKILL, no waiting: a crash. */
  kill(): void;
  /** Stop and delete `dir` if the helper created it. */
  close(): Promise<void>;
}

/** The store options every test uses against s3rver (see STACK-NOTES for why each is needed). */
export function s3TestOptions(endpoint: string) {
  return { endpoint, region: 'us-east-1', forcePathStyle: true, checksums: 'when_required' as const };
}

/**
 * Dummy credentials for the SDK's default chain, set in this (test) process and so inherited by
 * any child it spawns. s3rver ignores signatures; the env provider also comes first in the
 * chain, so the SDK never reaches for the EC2 metadata endpoint or a developer's ~/.aws.
 */
function useDummyCredentials(): void {
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/tagspend-test-credentials';
  process.env.AWS_CONFIG_FILE = '/nonexistent/tagspend-test-config';
}

export async function startS3Server(opts: { dir?: string; bucket?: string } = {}): Promise<S3Server> {
  useDummyCredentials();
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'tagspend-s3rver-')));
  const bucket = opts.bucket ?? TEST_BUCKET;
  let child: ChildProcess | null = null;
  let dying: Promise<void> = Promise.resolve();
  let port = 0;

  async function start(): Promise<void> {
    if (child) throw new Error('s3rver is already running');
    await dying; // a killed server must release the port before we bind it again
    const proc = spawn(process.execPath, ['--openssl-legacy-provider', CHILD, JSON.stringify({ dir, port, bucket })], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    child = proc;
    let stderr = '';
    proc.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    try {
      port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`s3rver did not start within ${START_DEADLINE_MS} ms: ${stderr}`)), START_DEADLINE_MS);
        const lines = createInterface({ input: proc.stdout! });
        lines.once('line', (line) => {
          clearTimeout(timer);
          try {
            resolve((JSON.parse(line) as { port: number }).port);
          } catch (err) {
            reject(new Error(`unexpected s3rver output: ${line}`, { cause: err }));
          }
        });
        proc.once('exit', (code, signal) => {
          clearTimeout(timer);
          reject(new Error(`s3rver exited before it was ready (code ${code}, signal ${signal}): ${stderr}`));
        });
      });
    } catch (err) {
      proc.kill('SIGKILL');
      child = null;
      throw err;
    }
    proc.once('exit', () => {
      if (child === proc) child = null;
    });
  }

  async function stop(): Promise<void> {
    const proc = child;
    if (!proc) return;
    child = null;
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const forced = setTimeout(() => proc.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(forced);
  }

  await start();
  const server: S3Server = {
    get endpoint() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    dir,
    bucket,
    start,
    stop,
    kill() {
      const proc = child;
      if (!proc) return;
      child = null;
      dying = proc.exitCode !== null || proc.signalCode !== null ? Promise.resolve() : new Promise((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGKILL');
    },
    async close() {
      await stop();
      if (ownDir) await rm(dir, { recursive: true, force: true });
    },
  };
  return server;
}
