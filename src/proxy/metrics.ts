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
  /** Label values of `metrics.tag_keys`, in order ('' = the request has no such tag). */
  tags: readonly string[];
  count: number;
}

interface SpendSeries {
  tags: readonly string[];
  usd: number;
}

export interface TagMetricsOptions {
  /** `metrics.tag_keys`: each becomes a `tag_<key>` label. */
  tagKeys?: readonly string[];
  /** `metrics.max_tag_series`: distinct value combinations kept; later ones count as `other`. */
  maxTagSeries?: number;
}

/** `team` -> `tag_team`; `cost-center` -> `tag_cost_center` (Prometheus label names). */
export function tagLabelName(key: string): string {
  return `tag_${key.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

const OTHER = 'other';
const SEP = '\u0000';

/**
 * The value combinations a record counts under, each with its weight: one value per tag key, a
 * key with several values split evenly between them (as reports split), '' for a key the
 * request does not carry. Usually one combination of weight 1.
 */
export function tagCombinations(tags: readonly string[], keys: readonly string[]): { values: string[]; weight: number }[] {
  let combos: { values: string[]; weight: number }[] = [{ values: [], weight: 1 }];
  for (const key of keys) {
    const prefix = `${key}:`;
    const found: string[] = [];
    for (const t of tags) if (t.startsWith(prefix) && !found.includes(t.slice(prefix.length))) found.push(t.slice(prefix.length));
    if (found.length === 0) found.push('');
    const next: { values: string[]; weight: number }[] = [];
    for (const c of combos) for (const v of found) next.push({ values: [...c.values, v], weight: c.weight / found.length });
    combos = next;
  }
  return combos;
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
  readonly usageClamped: Counter;
  /** By endpoint, then outcome, then tag value combination. */
  private readonly requestSeries = new Map<string, Map<string, RequestSeries>>();
  private readonly spendSeries = new Map<string, SpendSeries>();
  private readonly tagKeys: readonly string[];
  private readonly maxTagSeries: number;
  /** Tag value combinations that have their own series; the rest count as `other`. */
  private readonly knownCombos = new Set<string>();
  private readonly latencySeries = new Map<string, LatencySeries>();
  private readonly costByProvider = new Map<string, number>();
  private promptTokens = 0;
  private completionTokens = 0;
  private records = 0;

  /** The budget fleet's health, read when /metrics is scraped (budget-enforcement.ts). */
  watchBudgets(source: { fleet: { fresh(nowMs: number): boolean; failures: number; peers: number; lastExchangeMs: number }; clock: () => number }): void {
    const registers = [this.registry];
    new Gauge({
      name: 'tagspend_budget_store_unreachable',
      help: 'The other proxies\' spend could not be read from the store within budgets.share_stale_seconds: budgets are enforced on local knowledge (or refused with budgets.fail_closed)',
      registers,
      collect() {
        this.set(source.fleet.fresh(source.clock()) ? 0 : 1);
      },
    });
    new Counter({
      name: 'tagspend_budget_share_failures_total',
      help: 'Usage exchanges with the other proxies (control/usage/) that failed',
      registers,
      collect() {
        this.reset();
        this.inc(source.fleet.failures);
      },
    });
    new Gauge({
      name: 'tagspend_budget_share_seconds',
      help: 'How long the last usage exchange with the other proxies took (write ours, list and read theirs)',
      registers,
      collect() {
        this.set(source.fleet.lastExchangeMs / 1000);
      },
    });
    new Gauge({
      name: 'tagspend_budget_peers',
      help: 'Other proxies whose current usage file counted in the last exchange',
      registers,
      collect() {
        this.set(source.fleet.peers);
      },
    });
  }

  constructor(options: { defaultMetrics?: boolean } & TagMetricsOptions = {}) {
    const registers = [this.registry];
    const self = this;
    this.tagKeys = options.tagKeys ?? [];
    this.maxTagSeries = options.maxTagSeries ?? 200;
    const tagLabels = this.tagKeys.map(tagLabelName);
    const withTags = (base: Record<string, string>, values: readonly string[]): Record<string, string> => {
      const labels = { ...base };
      tagLabels.forEach((l, i) => (labels[l] = values[i]!));
      return labels;
    };
    new Counter({
      name: 'tagspend_requests_total',
      help: `API requests handled, by endpoint and outcome${tagLabels.length ? ` and ${tagLabels.join(', ')}` : ''}`,
      labelNames: ['endpoint', 'outcome', ...tagLabels],
      registers,
      collect() {
        this.reset();
        for (const byOutcome of self.requestSeries.values()) {
          for (const s of byOutcome.values()) this.inc(withTags({ endpoint: s.endpoint, outcome: s.outcome }, s.tags), s.count);
        }
      },
    });
    new Counter({
      name: 'tagspend_spend_usd_total',
      help: `Priced spend logged by this proxy, in USD${tagLabels.length ? `, by ${tagLabels.join(', ')} (a request with several values of a key is split evenly)` : ''}`,
      labelNames: tagLabels,
      registers,
      collect() {
        this.reset();
        if (self.spendSeries.size === 0) this.inc(withTags({}, self.tagKeys.map(() => '')), 0);
        for (const s of self.spendSeries.values()) this.inc(withTags({}, s.tags), s.usd);
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
    this.usageClamped = new Counter({
      name: 'tagspend_usage_clamped_total',
      help: 'Records whose provider-reported usage or cost was above the record bounds and was clamped (docs/proxy.md)',
      registers,
    });
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'tagspend_' });
  }

  /** The series key of a value combination: its own, or `other` once the cap is reached. */
  private comboKey(values: string[]): { key: string; values: string[] } {
    const key = values.join(SEP);
    if (this.knownCombos.has(key)) return { key, values };
    if (this.knownCombos.size < this.maxTagSeries) {
      this.knownCombos.add(key);
      return { key, values };
    }
    const other = values.map(() => OTHER);
    return { key: other.join(SEP), values: other };
  }

  /** Upstream pool figures per provider, read when /metrics is scraped. */
  watchUpstream(upstream: { stats(): { provider: string; queued: number; running: number; connected: number }[] }): void {
    const registers = [this.registry];
    const gauge = (name: string, help: string, pick: (s: { queued: number; running: number; connected: number }) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['provider'],
        registers,
        collect() {
          this.reset();
          for (const s of upstream.stats()) this.inc({ provider: s.provider }, pick(s));
        },
      });
    gauge('tagspend_upstream_queued_requests', 'Requests waiting inside the proxy for a free upstream connection (upstream.connections is the cap)', (s) => s.queued);
    gauge('tagspend_upstream_active_requests', 'Requests being sent to or answered by the provider', (s) => s.running);
    gauge('tagspend_upstream_connections', 'Open connections to the provider', (s) => s.connected);
  }

  /** Gauges and counters of the spend writer's health, read when /metrics is scraped. */
  watchSpendLog(writer: { problem(): string | null; deferredRecords: number; droppedRecords: number; writeFailures: number }): void {
    const registers = [this.registry];
    new Gauge({
      name: 'tagspend_spend_log_writable',
      help: '1 when spend records can be written; 0 when the spool disk is full or writes fail (requests are refused with 507)',
      registers,
      collect() {
        this.set(writer.problem() === null ? 1 : 0);
      },
    });
    new Gauge({
      name: 'tagspend_spend_records_deferred',
      help: 'Records that could not be written yet, held in memory until the disk takes them',
      registers,
      collect() {
        this.set(writer.deferredRecords);
      },
    });
    new Counter({
      name: 'tagspend_spend_records_dropped_total',
      help: 'Records lost: the in-memory backlog of unwritten records was full, or they were still unwritten at shutdown',
      registers,
      collect() {
        this.reset();
        this.inc(writer.droppedRecords);
      },
    });
    new Counter({
      name: 'tagspend_spend_log_write_failures_total',
      help: 'Failed spend record writes (ENOSPC, EIO, ...), retries included',
      registers,
      collect() {
        this.reset();
        this.inc(writer.writeFailures);
      },
    });
  }

  /** Counts one handled request from its spend record. */
  observeRequest(rec: SpendRecord): void {
    this.records += 1;
    let byOutcome = this.requestSeries.get(rec.endpoint);
    if (!byOutcome) this.requestSeries.set(rec.endpoint, (byOutcome = new Map()));
    if (this.tagKeys.length === 0) {
      const req = byOutcome.get(rec.outcome);
      if (req) req.count += 1;
      else byOutcome.set(rec.outcome, { endpoint: rec.endpoint, outcome: rec.outcome, tags: [], count: 1 });
      if (rec.cost_usd) this.addSpend('', [], rec.cost_usd);
    } else {
      for (const c of tagCombinations(rec.tags, this.tagKeys)) {
        const { key, values } = this.comboKey(c.values);
        const id = `${rec.outcome}${SEP}${key}`;
        const req = byOutcome.get(id);
        if (req) req.count += c.weight;
        else byOutcome.set(id, { endpoint: rec.endpoint, outcome: rec.outcome, tags: values, count: c.weight });
        if (rec.cost_usd) this.addSpend(key, values, rec.cost_usd * c.weight);
      }
    }
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

  private addSpend(key: string, values: readonly string[], usd: number): void {
    const s = this.spendSeries.get(key);
    if (s) s.usd += usd;
    else this.spendSeries.set(key, { tags: values, usd });
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
