// Picks the store implementation for a configured URL (config.store.url and config.store.s3).
import { ConfigError } from '../errors.ts';
import { LocalStore } from './local.ts';
import { S3Store } from './s3.ts';
import type { ObjectStore } from './types.ts';

export interface S3ConnectionOptions {
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  checksums?: 'when_supported' | 'when_required';
}

/** `file:///dir` (or a bare path) opens a LocalStore, `s3://bucket/prefix` an S3Store. */
export function openStore(url: string, s3: S3ConnectionOptions = {}): ObjectStore {
  if (url.startsWith('s3://')) return new S3Store(url, s3);
  if (url.startsWith('file:') || !/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return new LocalStore(url);
  throw new ConfigError([`store.url: unsupported scheme in ${JSON.stringify(url)} (use file:///path or s3://bucket/prefix)`]);
}
