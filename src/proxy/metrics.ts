// Prometheus metrics (`GET /metrics`). One registry per proxy so tests can run several.
// Per-request series are plain numbers updated on the hot path and handed to prom-client only
// when /metrics is scraped: prom-client hashes label sets on every inc/observe, which costs more
// than the rest of the bookkeeping of a request.
import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric, type MetricValue } from 'prom-client';
import type { SpendRecord } from '../spend/record.ts';

const LATENCY_BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

interface RequestSeries {
  endpoint: string;
  outcome: string;
  count: number;
}

interface LatencySeries {
  endpoint: string;
  /** Non-cumulative counts per bucket; the last slot is +Inf. */
  buckets: number[];
  sum: number;
  count: number;
}

export class ProxyMetrics {
  readonly registry = new Registry();
  readonly recordsWritten: Counter;
  readonly spoolBacklogFiles: Gauge;
  readonly spoolBacklogBytes: Gauge;
  readonly spoolOldestAgeSeconds: Gauge;
  readonly shipFailures: Counter;
  readonly segmentsShipped: Counter;
  /** By endpoint, then outcome. */
  private readonly requestSeries = new Map<string, Map<string, RequestSeries>>();
  private readonly latencySeries = new Map<string, LatencySeries>();
  private readonly costByProvider = new Map<string, number>();
  private promptTokens = 0;
  private completionTokens = 0;
  private records = 0;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const self = this;
    new Counter({
      name: 'tagspend_requests_total',
      help: 'API requests handled, by endpoint and outcome',
      labelNames: ['endpoint', 'outcome'],
      registers,
      collect() {
        this.reset();
        for (const byOutcome of self.requestSeries.values()) {
          for (const s of byOutcome.values()) this.inc({ endpoint: s.endpoint, outcome: s.outcome }, s.count);
        }
      },
    });
    this.registry.registerMetric(this.latencyMetric());
    new Counter({
      name: 'tagspend_cost_usd_total',
      help: 'Priced spend logged by this proxy, in USD',
      labelNames: ['provider'],
      registers,
      collect() {
        this.reset();
        for (const [provider, usd] of self.costByProvider) this.inc({ provider }, usd);
      },
    });
    new Counter({
      name: 'tagspend_tokens_total',
      help: 'Tokens logged by this proxy, by kind',
      labelNames: ['kind'],
      registers,
      collect() {
        this.reset();
        this.inc({ kind: 'prompt' }, self.promptTokens);
        this.inc({ kind: 'completion' }, self.completionTokens);
      },
    });
    this.recordsWritten = new Counter({
      name: 'tagspend_spend_records_written_total',
      help: 'Spend records appended to local segments',
      registers,
      collect() {
        this.reset();
        this.inc(self.records);
      },
    });
    this.spoolBacklogFiles = new Gauge({
      name: 'tagspend_spool_backlog_files',
      help: 'Closed segments waiting to be shipped to the store',
      registers,
    });
    this.spoolBacklogBytes = new Gauge({
      name: 'tagspend_spool_backlog_bytes',
      help: 'Bytes of closed segments waiting to be shipped',
      registers,
    });
    this.spoolOldestAgeSeconds = new Gauge({
      name: 'tagspend_spool_oldest_age_seconds',
      help: 'Age of the oldest segment waiting to be shipped',
      registers,
    });
    this.shipFailures = new Counter({
      name: 'tagspend_ship_failures_total',
      help: 'Failed segment upload attempts (each is retried)',
      registers,
    });
    this.segmentsShipped = new Counter({
      name: 'tagspend_segments_shipped_total',
      help: 'Segments uploaded and verified in the store',
      registers,
    });
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'tagspend_' });
  }

  /** Counts one handled request from its spend record. */
  observeRequest(rec: SpendRecord): void {
    this.records += 1;
    let byOutcome = this.requestSeries.get(rec.endpoint);
    if (!byOutcome) this.requestSeries.set(rec.endpoint, (byOutcome = new Map()));
    const req = byOutcome.get(rec.outcome);
    if (req) req.count += 1;
    else byOutcome.set(rec.outcome, { endpoint: rec.endpoint, outcome: rec.outcome, count: 1 });
    let lat = this.latencySeries.get(rec.endpoint);
    if (!lat) {
      lat = { endpoint: rec.endpoint, buckets: new Array<number>(LATENCY_BUCKETS.length + 1).fill(0), sum: 0, count: 0 };
      this.latencySeries.set(rec.endpoint, lat);
    }
    const seconds = rec.latency_ms / 1000;
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]!) i++;
    lat.buckets[i]! += 1;
    lat.sum += seconds;
    lat.count += 1;
    if (rec.cost_usd) {
      const provider = rec.provider ?? 'unknown';
      this.costByProvider.set(provider, (this.costByProvider.get(provider) ?? 0) + rec.cost_usd);
    }
    this.promptTokens += rec.prompt_tokens;
    this.completionTokens += rec.completion_tokens;
  }

  private latencyMetric(): Metric {
    const name = 'tagspend_request_duration_seconds';
    const help = 'Time from request start to the last byte of the response';
    const series = this.latencySeries;
    const metric = {
      name,
      help,
      type: 'histogram',
      aggregator: 'sum',
      async get() {
        const values: (MetricValue<string> & { metricName: string })[] = [];
        for (const s of series.values()) {
          let cumulative = 0;
          LATENCY_BUCKETS.forEach((le, i) => {
            cumulative += s.buckets[i]!;
            values.push({ metricName: `${name}_bucket`, labels: { le, endpoint: s.endpoint }, value: cumulative });
          });
          values.push({ metricName: `${name}_bucket`, labels: { le: '+Inf', endpoint: s.endpoint }, value: s.count });
          values.push({ metricName: `${name}_sum`, labels: { endpoint: s.endpoint }, value: s.sum });
          values.push({ metricName: `${name}_count`, labels: { endpoint: s.endpoint }, value: s.count });
        }
        return { name, help, type: 'histogram', aggregator: 'sum', values };
      },
      reset() {
        series.clear();
      },
    };
    return metric as unknown as Metric;
  }
}
