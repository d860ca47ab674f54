// Fetching objects to local files with bounded parallelism (DuckDB reads local files only). From a
// local store on the same filesystem the files are hard links: nothing is copied, and the
// ingest only reads them and removes its links.
import { join } from 'node:path';
import type { ObjectInfo, ObjectStore } from '../../src/store/types.ts';
import { StoreError } from '../../src/errors.ts';
import type { DownloadedObject } from './load.ts';

/** Runs `task` over `items` with at most `limit` in flight; results keep the input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Downloads a batch into `dir` as `<seq>.ndjson.gz` (names we control, so DuckDB's messages can
 * be matched back to objects). An object that vanished since listing is an error: the manifest
 * must not record it as loaded.
 */
export async function downloadBatch(
  store: ObjectStore,
  objects: readonly ObjectInfo[],
  dir: string,
  firstSeq: number,
  concurrency: number,
  onObject: () => void = () => {},
): Promise<DownloadedObject[]> {
  return mapLimit(objects, concurrency, async (info, i) => {
    const path = join(dir, `${firstSeq + i}.ndjson.gz`);
    const found = await store.getToFile(info.key, path, { mayLink: true });
    if (!found) throw new StoreError(`object ${info.key} disappeared from ${store.url} after it was listed`);
    onObject();
    return { key: info.key, etag: info.etag, size: info.size, path };
  });
}
