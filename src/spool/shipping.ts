// Builds the shipper the config describes, for the proxy and for `tagspend ship` alike.
import type { ResolvedConfig } from '../config/load.ts';
import type { Logger } from '../log.ts';
import { openStore } from '../store/open.ts';
import type { ObjectStore } from '../store/types.ts';
import { DEFAULT_BACKOFF } from './backoff.ts';
import { Shipper, type ShipperMetrics } from './shipper.ts';

/** The store named by `store.url` with the `store.s3` connection settings. */
export function openConfiguredStore(resolved: ResolvedConfig): ObjectStore {
  const s3 = resolved.config.store.s3;
  return openStore(resolved.storeUrl, {
    ...(s3.endpoint === undefined ? {} : { endpoint: s3.endpoint }),
    ...(s3.region === undefined ? {} : { region: s3.region }),
    forcePathStyle: s3.force_path_style,
    checksums: s3.checksums,
  });
}

export function configuredShipper(
  resolved: ResolvedConfig,
  store: ObjectStore,
  logger: Logger,
  extra: { metrics?: ShipperMetrics; clock?: () => number } = {},
): Shipper {
  const { spend_log } = resolved.config;
  return new Shipper({
    store,
    logger: logger.child({ component: 'shipper' }),
    shippedDir: spend_log.keep_shipped ? resolved.paths.shipped : null,
    backlogWarnBytes: spend_log.backlog_warn_bytes,
    backoff: { baseMs: Math.min(DEFAULT_BACKOFF.baseMs, spend_log.ship_retry_max_seconds * 1000), capMs: spend_log.ship_retry_max_seconds * 1000 },
    ...extra,
  });
}
