// Spend records for tests and benchmarks: deterministic (seeded), realistic in shape (several
// tags per request, a few requests with two values of one tag key, users, metadata, unknown
// prices, failures), written as gzip NDJSON objects under the contract's keys.
import { gzipSync } from 'node:zlib';
import type { SpendRecord } from '../../src/spend/record.ts';
import { segmentObjectKey } from '../../src/spool/segment.ts';
import type { ObjectStore } from '../../src/store/types.ts';
import { seededRandom } from '../../src/demo/random.ts';

export { seededRandom };

export interface RecordShape {
  users: number;
  apps: number;
  teams: number;
  projects: number;
}

export const SMALL_SHAPE: RecordShape = { users: 40, apps: 5, teams: 4, projects: 6 };

const MODELS = [
  { model: 'openai/gpt-5', provider: 'openai', upstream: 'gpt-5-2025-08-07' },
  { model: 'openai/gpt-5-mini', provider: 'openai', upstream: 'gpt-5-mini-2025-08-07' },
  { model: 'anthropic/claude-sonnet-4-5', provider: 'anthropic', upstream: 'claude-sonnet-4-5-20250929' },
  { model: 'groq/llama-3.3-70b-versatile', provider: 'groq', upstream: 'llama-3.3-70b-versatile' },
  { model: 'acme/secret-model', provider: 'acme', upstream: 'secret-model-1' },
];
const OUTCOMES = ['success', 'success', 'success', 'success', 'success', 'success', 'upstream_error', 'blocked'] as const;

function uuidLike(n: number, rand: () => number): string {
  const hex = (v: number, len: number): string => Math.floor(v).toString(16).padStart(len, '0').slice(-len);
  return `${hex(n / 65536, 8)}-${hex(n, 4)}-7${hex(rand() * 4096, 3)}-8${hex(rand() * 4096, 3)}-${hex(rand() * 2 ** 32, 8)}${hex(rand() * 65536, 4)}`;
}

/** Record number `n` starting at `startMs`, one request every `stepMs`. */
export function makeRecord(n: number, rand: () => number, startMs: number, stepMs: number, shape: RecordShape = SMALL_SHAPE): SpendRecord {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const ts = startMs + n * stepMs;
  const m = pick(MODELS);
  const outcome = pick(OUTCOMES);
  const ok = outcome === 'success';
  const prompt = ok ? 1 + Math.floor(rand() * 3000) : 0;
  const completion = ok ? Math.floor(rand() * 900) : 0;
  const cached = Math.floor(prompt * rand() * 0.3);
  const tags: string[] = [];
  if (rand() < 0.9) tags.push(`app:app${Math.floor(rand() * shape.apps)}`);
  if (rand() < 0.8) tags.push(`team:team${Math.floor(rand() * shape.teams)}`);
  if (rand() < 0.08) tags.push(`team:team${shape.teams + Math.floor(rand() * 2)}`);
  if (rand() < 0.5) tags.push('env:production');
  if (rand() < 0.1) tags.push('experiment');
  const metadata: Record<string, string> = {};
  if (rand() < 0.7) metadata.project = `project${Math.floor(rand() * shape.projects)}`;
  if (rand() < 0.3) metadata.region = pick(['eu', 'us', 'ap']);
  const unknownPrice = m.provider === 'acme';
  const cost = !ok ? 0 : unknownPrice ? null : Math.round((prompt * 1.25e-6 + completion * 1e-5 - cached * 1e-7) * 1e10) / 1e10;
  return {
    schema: 2,
    request_id: uuidLike(ts, rand),
    ts: new Date(ts).toISOString(),
    end_ts: new Date(ts + 400 + Math.floor(rand() * 2000)).toISOString(),
    latency_ms: 400 + Math.floor(rand() * 2000),
    instance: 'fixture1',
    endpoint: '/v1/chat/completions',
    model: m.model,
    provider: m.provider,
    upstream_model: m.upstream,
    stream: rand() < 0.3,
    status: ok ? 200 : outcome === 'blocked' ? 429 : 502,
    outcome,
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    cached_tokens: cached,
    cache_write_tokens: 0,
    reasoning_tokens: Math.floor(completion * rand() * 0.2),
    cost_usd: cost,
    price_ref: cost === null ? null : 'builtin:2026-11',
    tags,
    user: rand() < 0.9 ? `customer_${Math.floor(rand() * shape.users)}` : null,
    metadata,
    key_alias: pick(['support-bot', 'search', null]),
    key_hash: '3f2a9c0d1e4b5a67',
    error: ok ? null : 'upstream said no',
    cache_write_1h_tokens: 0,
  };
}

export function makeRecords(count: number, seed: number, startMs: number, stepMs: number, shape?: RecordShape): SpendRecord[] {
  const rand = seededRandom(seed);
  return Array.from({ length: count }, (_, n) => makeRecord(n, rand, startMs, stepMs, shape));
}

export function toNdjson(records: readonly (SpendRecord | string)[]): string {
  return records.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';
}

/** The contract key of a segment whose first record is `startMs`. */
export function objectKey(instance: string, startMs: number, seq: number): string {
  return segmentObjectKey({ instance, startMs, seq });
}

export async function putNdjsonObject(store: ObjectStore, key: string, text: string): Promise<void> {
  await store.put(key, gzipSync(Buffer.from(text, 'utf8')));
}

/**
 * Writes records as objects of `perObject` records each, keyed by their first record's time,
 * and returns the keys in order.
 */
export async function putRecordObjects(store: ObjectStore, records: readonly SpendRecord[], perObject: number, instance = 'fixture1'): Promise<string[]> {
  const keys: string[] = [];
  for (let i = 0; i < records.length; i += perObject) {
    const chunk = records.slice(i, i + perObject);
    const key = objectKey(instance, Date.parse(chunk[0]!.ts), keys.length);
    await putNdjsonObject(store, key, toNdjson(chunk));
    keys.push(key);
  }
  return keys;
}
