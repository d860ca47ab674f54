// Reads back what the shipper put in a store: every spend object, gunzipped and parsed.
import { gunzipSync } from 'node:zlib';
import type { SpendRecord } from '../../src/spend/record.ts';
import type { ObjectStore } from '../../src/store/types.ts';

export interface StoredSpend {
  keys: string[];
  records: SpendRecord[];
}

export async function readStoredSpend(store: ObjectStore): Promise<StoredSpend> {
  const keys: string[] = [];
  const records: SpendRecord[] = [];
  for await (const info of store.list('spend/')) {
    const got = await store.get(info.key);
    if (!got || !('body' in got)) throw new Error(`listed object ${info.key} could not be read`);
    keys.push(info.key);
    for (const line of gunzipSync(got.body).toString('utf8').split('\n')) {
      if (line) records.push(JSON.parse(line) as SpendRecord);
    }
  }
  return { keys, records };
}

/** Request ids seen more than once. */
export function duplicates(ids: readonly string[]): string[] {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const id of ids) (seen.has(id) ? twice : seen).add(id);
  return [...twice];
}
