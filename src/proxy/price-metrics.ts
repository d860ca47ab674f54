// Metrics of pricing.refresh, so an alert can say the price data went stale: failed refreshes
// and the time of the last successful one.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { RefreshHooks } from '../spend/price-refresh.ts';

export function priceRefreshMetrics(registry: Registry): RefreshHooks {
  const failures = new Counter({
    name: 'tagspend_price_refresh_failures_total',
    help: 'pricing.refresh attempts whose source could not be read or held no valid data (the last good data stays in use)',
    registers: [registry],
  });
  const lastSuccess = new Gauge({
    name: 'tagspend_price_refresh_last_success_timestamp_seconds',
    help: 'Unix time of the last successful pricing.refresh',
    registers: [registry],
  });
  return {
    onSuccess: (_ref, atMs) => lastSuccess.set(atMs / 1000),
    onFailure: () => failures.inc(),
  };
}
