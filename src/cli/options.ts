// Options several commands share: where the data directory and the object store are.
import type { Argv } from 'yargs';

export interface DataArgs {
  config?: string;
  'data-dir'?: string;
  store?: string;
}

/** `--data-dir` and `--store`, each overriding its config value (and environment variable). */
export function dataOptions<T>(y: Argv<T>): Argv<T> {
  return y
    .option('data-dir', { type: 'string', describe: 'Local data directory (TAGSPEND_DATA_DIR)' })
    .option('store', { type: 'string', describe: 'Object store URL: file://dir or s3://bucket/prefix (TAGSPEND_STORE__URL)' }) as Argv<T>;
}
