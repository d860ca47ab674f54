// Prometheus metrics (`GET /metrics`). One registry per proxy so tests can run several.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SpendRecord } from '../spend/record.ts';

interface RequestSeries {
  requests: ReturnType<Counter<'endpoint' | 'outcome'>['labels']>;
  latency: ReturnType<Histogram<'endpoint'>['labels']>;
}

export class ProxyMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'endpoint' | 'outcome'>;
  readonly latency: Histogram<'endpoint'>;
  readonly costUsd: Counter<'provider'>;
  readonly tokens: Counter<'kind'>;
  readonly recordsWritten: Counter;
  readonly spoolBacklogFiles: Gauge;
  readonly spoolBacklogBytes: Gauge;
  readonly spoolOldestAgeSeconds: Gauge;
  readonly shipFailures: Counter;
  readonly segmentsShipped: Counter;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'tagspend_requests_total',
      help: 'API requests handled, by endpoint and outcome',
      labelNames: ['endpoint', 'outcome'],
      registers,
    });
    this.latency = new Histogram({
      name: 'tagspend_request_duration_seconds',
      help: 'Time from request start to the last byte of the response',
      labelNames: ['endpoint'],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.costUsd = new Counter({
      name: 'tagspend_cost_usd_total',
      help: 'Priced spend logged by this proxy, in USD',
      labelNames: ['provider'],
      registers,
    });
    this.tokens = new Counter({
      name: 'tagspend_tokens_total',
      help: 'Tokens logged by this proxy, by kind',
      labelNames: ['kind'],
      registers,
    });
    this.recordsWritten = new Counter({
      name: 'tagspend_spend_records_written_total',
      help: 'Spend records appended to local segments',
      registers,
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
    this.promptTokens = this.tokens.labels('prompt');
    this.completionTokens = this.tokens.labels('completion');
  }

  private readonly series = new Map<string, RequestSeries>();
  private readonly promptTokens: ReturnType<Counter<'kind'>['labels']>;
  private readonly completionTokens: ReturnType<Counter<'kind'>['labels']>;

  /** Counts one handled request from its spend record (label children are cached: no hashing per request). */
  observeRequest(rec: SpendRecord): void {
    const k = rec.endpoint + ' ' + rec.outcome;
    let s = this.series.get(k);
    if (!s) {
      s = { requests: this.requests.labels(rec.endpoint, rec.outcome), latency: this.latency.labels(rec.endpoint) };
      this.series.set(k, s);
    }
    s.requests.inc();
    s.latency.observe(rec.latency_ms / 1000);
    this.recordsWritten.inc();
    if (rec.cost_usd) this.costUsd.labels(rec.provider ?? 'unknown').inc(rec.cost_usd);
    if (rec.total_tokens) {
      this.promptTokens.inc(rec.prompt_tokens);
      this.completionTokens.inc(rec.completion_tokens);
    }
  }
}
