// The configuration schema: every setting, its default and its bounds, in one place.
// Unknown keys are errors (a typo in a YAML file should not be silently ignored).
import { z } from 'zod';

const durationMs = z.number().int().positive();
const money = z.number().finite().min(0).max(1e12);
/** A budget window: Ns, Nm, Nh, Nd, Nw, Nmo (src/budget/window.ts checks it in full). */
const duration = z.string().regex(/^[1-9]\d{0,5}(s|m|h|d|w|mo)$/, 'must look like 30s, 10m, 12h, 1d, 7d, 1w, 1mo');

const providerSchema = z.strictObject({
  /** A preset name (openai, openrouter, groq, together, mistral, deepseek, gemini, anthropic, mock) fills in base_url and api_key_env. */
  preset: z.string().optional(),
  base_url: z.url().optional(),
  /** Literal key (prefer api_key_env in files). */
  api_key: z.string().min(1).optional(),
  /** Name of the environment variable that holds the provider key. */
  api_key_env: z.string().min(1).optional(),
  /** Extra headers sent upstream with every request (e.g. OpenRouter's HTTP-Referer). */
  headers: z.record(z.string(), z.string()).default({}),
  /** Serves Anthropic's Messages API below base_url (gateways, Anthropic-compatible servers); default: true for the anthropic preset. */
  anthropic_native: z.boolean().optional(),
});

const keySchema = z.strictObject({
  key: z.string().min(8).optional(),
  key_env: z.string().min(1).optional(),
  alias: z.string().min(1),
  tags: z.array(z.string().min(1).max(256)).default([]),
  metadata: z.record(z.string(), z.string()).default({}),
  allowed_models: z.array(z.string().min(1)).optional(),
  required_tag_prefixes: z.array(z.string().min(1)).default([]),
  /** A read-only key: it may read spend (`tagspend serve`), not call models or change tags. */
  viewer: z.boolean().default(false),
  /** Tags (globs: `team:search`, `tenant:*`) a request with this key may carry; unset = any. The key's own tags are always allowed. */
  allowed_tags: z.array(z.string().min(1).max(256)).optional(),
  /** May call /tag/* for the tags its allowed_tags match (team self-service); needs allowed_tags. */
  manage_tags: z.boolean().default(false),
  /** USD per budget_duration for all requests made with this key (docs/budgets.md). */
  max_budget: money.optional(),
  budget_duration: duration.optional(),
  /** USD at which an alert fires, without blocking. */
  soft_budget: money.optional(),
});

export const configSchema = z.strictObject({
  host: z.string().default('0.0.0.0'),
  port: z.number().int().min(0).max(65535).default(4000),
  /** Identifies this proxy in records and object keys; default `<hostname>`. A random suffix is added per process start. */
  instance_id: z
    .string()
    .regex(/^[A-Za-z0-9_.]+$/, 'only letters, digits, "_" and "." (it is part of object keys; "-" separates key fields)')
    .optional(),
  data_dir: z.string().default('./data'),
  timezone: z.string().default('UTC'),
  log_level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  master_key: z.string().min(8).optional(),
  max_body_bytes: z.number().int().positive().default(8 * 1024 * 1024),
  /** Time allowed to receive a request's whole body (from its headers); 408 and the connection closed beyond it. */
  request_body_timeout_ms: durationMs.default(60_000),

  store: z
    .strictObject({
      /** `file://<dir>` (default `<data_dir>/store`) or `s3://bucket/prefix`. */
      url: z.string().optional(),
      s3: z
        .strictObject({
          endpoint: z.url().optional(),
          region: z.string().optional(),
          force_path_style: z.boolean().default(false),
          /** `when_required` for S3-compatible servers that mishandle the SDK's default flexible checksums. */
          checksums: z.enum(['when_supported', 'when_required']).default('when_supported'),
        })
        .prefault({}),
    })
    .prefault({}),

  spend_log: z
    .strictObject({
      segment_max_bytes: z.number().int().positive().default(64 * 1024 * 1024),
      segment_max_age_seconds: z.number().positive().default(60),
      /** Keep shipped segments in `<data_dir>/shipped` instead of deleting them. */
      keep_shipped: z.boolean().default(false),
      backlog_warn_bytes: z.number().int().positive().default(1024 * 1024 * 1024),
      /** Longest wait between two upload attempts while the store is failing (retries never stop). */
      ship_retry_max_seconds: z.number().positive().default(30),
      shutdown_deadline_seconds: z.number().positive().default(30),
      /**
       * Below this much free space on the spool's file system the proxy refuses new requests
       * (507, before calling the provider) and readiness is 503: the rest is kept for the records
       * of requests already in flight and for compressing segments. 0 disables the check.
       */
      min_free_bytes: z.number().int().min(0).default(64 * 1024 * 1024),
    })
    .prefault({}),

  upstream: z
    .strictObject({
      connect_timeout_ms: durationMs.default(10_000),
      /** Time to the response headers (first byte). Long for reasoning models. */
      headers_timeout_ms: durationMs.default(600_000),
      /** Longest silence between two body chunks. */
      body_timeout_ms: durationMs.default(300_000),
      /**
       * Most connections per provider; null (the default): no cap. LLM streams hold a connection
       * for their whole answer, so a cap is a hidden throughput limit: requests beyond it wait
       * inside the proxy (tagspend_upstream_queued_requests).
       */
      connections: z.number().int().positive().nullable().default(null),
      /**
       * Offer HTTP/2 to https providers (undici allowH2, chosen by ALPN; HTTP/1.1 otherwise): one
       * connection carries many concurrent streams. Off by default (docs/proxy.md, measured).
       */
      allow_h2: z.boolean().default(false),
      /** Largest single SSE event accepted from a provider; a larger one cuts the stream with an upstream error. */
      max_event_bytes: z.number().int().positive().default(16 * 1024 * 1024),
    })
    .prefault({}),

  providers: z.record(z.string().regex(/^[a-z0-9_-]+$/), providerSchema).default({}),
  /** Provider for model names without a `provider/` prefix. */
  default_provider: z.string().optional(),
  /** `alias: provider/model`, e.g. `fast: groq/llama-3.3-70b-versatile`. */
  model_aliases: z.record(z.string(), z.string().includes('/')).default({}),

  keys: z.array(keySchema).default([]),

  privacy: z
    .strictObject({
      hash_user_ids: z.boolean().default(false),
      user_id_salt: z.string().min(16).optional(),
      /** Metadata keys containing any of these (case-insensitive) have their values replaced with [REDACTED]. */
      redact_metadata_keys: z.array(z.string().min(1)).default(['key', 'secret', 'token', 'password', 'authorization']),
    })
    .prefault({}),

  pricing: z
    .strictObject({
      /** YAML or JSON file of per-model prices that override or extend the bundled table. */
      overrides_file: z.string().optional(),
      /** Opt-in: reload the genai-prices data (its published data.json format) without a restart. */
      refresh: z
        .strictObject({
          /** An http(s) URL, a file:// URL or a file path. */
          source: z.string().min(1),
          interval_seconds: z.number().min(10).default(3600),
          timeout_ms: durationMs.default(15_000),
        })
        .optional(),
    })
    .prefault({}),

  /** Prometheus metrics of the proxy (`GET /metrics`). */
  metrics: z
    .strictObject({
      /**
       * Tag keys whose values label tagspend_spend_usd_total and tagspend_requests_total
       * (`team` gives a `tag_team` label), so Grafana charts live spend by team between job runs.
       */
      tag_keys: z.array(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, "_", "." or "-" (up to 64)')).max(5).default([]),
      /** Distinct combinations of those tag values kept as series; later ones count under `other`. */
      max_tag_series: z.number().int().min(1).max(10_000).default(200),
    })
    .prefault({}),

  /** `tagspend serve`: the dashboard and spend API over the read-only snapshot (docs/serve.md). */
  serve: z
    .strictObject({
      /** Loopback by default: spend figures are not for the whole network unless you say so. */
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(4100),
      /** DuckDB connections on the snapshot: queries that can run at once. */
      connections: z.number().int().min(1).max(32).default(4),
      /** How long a dashboard sign-in lasts. */
      session_hours: z.number().positive().max(24 * 30).default(12),
      /** Tag key the overview charts first (default: the key with the most spend). */
      default_tag_key: z.string().min(1).optional(),
    })
    .prefault({}),

  /** Tag budget enforcement in the proxy (docs/budgets.md). */
  budgets: z
    .strictObject({
      /** How often each proxy re-reads control/blocklist.json and control/tags/ (ETag, cheap when unchanged). */
      poll_interval_seconds: z.number().positive().default(10),
      /** How often each proxy publishes its spend and reservations to control/usage/<instance>.json and reads the others'. */
      share_interval_seconds: z.number().positive().default(2),
      /** Another proxy's usage file older than this is stale: its reservations no longer count (a dead proxy). */
      share_stale_seconds: z.number().positive().default(10),
      /** true: while the store cannot be reached, requests that touch a budget are answered 503 instead of being admitted on local knowledge. */
      fail_closed: z.boolean().default(false),
      /** The most output tokens a reservation counts per request (the smaller of this, max_tokens and the model's output limit); 0 = no cap. */
      reservation_output_tokens_cap: z.number().int().min(0).default(16_384),
      /** The budget of every customer (end user) without one of their own. */
      default_customer_budget: z
        .strictObject({ max_budget: money, budget_duration: duration })
        .optional(),
      /** At most this many default-budget customers are carried in the block-list (the highest spenders). */
      blocklist_max_customers: z.number().int().min(0).default(50_000),
    })
    .prefault({}),

  /** Budget alerts sent by the budgets job (docs/budgets.md). */
  alerts: z
    .strictObject({
      /** Fractions of max_budget that alert once per window (a tag's own thresholds win). */
      thresholds: z.array(z.number().positive().max(10)).default([0.5, 0.8, 1.0]),
      /** Slack-compatible incoming webhook; without it alerts are log lines only. */
      webhook_url: z.url().optional(),
      /** Extra attempts after a failed webhook POST, within one job run. */
      webhook_retries: z.number().int().min(0).max(10).default(2),
      webhook_timeout_ms: durationMs.default(5_000),
      /** A tag's day above this many times its trailing 7-day median spend alerts once per day; 0 = off. */
      spike_factor: z.number().min(0).default(3),
      /** Days below this spend (USD) never count as a spike (noise on tiny tags). */
      spike_min_usd: money.default(1),
      /** Projected-overspend alerts start once this fraction of the window has passed. */
      projection_min_elapsed: z.number().min(0).max(1).default(0.1),
    })
    .prefault({}),

  /** The reconciliation jobs (docs/jobs.md). Relative paths resolve against data_dir. */
  jobs: z
    .strictObject({
      /** The DuckDB file the jobs write; default `<data_dir>/tagspend.duckdb`. */
      db_file: z.string().optional(),
      /** Read-only copy published after each run; default `<data_dir>/tagspend-snapshot.duckdb`. */
      snapshot_file: z.string().optional(),
      /** Where the daily report is written; default `<data_dir>/reports`. */
      report_dir: z.string().optional(),
      /** How each job's last run ended (JSON) plus the same as Prometheus text (.prom beside it); default `<data_dir>/jobs-status.json`. */
      status_file: z.string().endsWith('.json').optional(),
      schedules: z
        .strictObject({
          /** Incremental reconcile (ingest recent objects, re-price, rollup). */
          reconcile: z.string().default('*/5 * * * *'),
          /** Full reconcile (list every object) followed by the daily report. */
          full: z.string().default('0 2 * * *'),
        })
        .prefault({}),
      download_concurrency: z.number().int().min(1).max(64).default(4),
      /** Objects and compressed bytes loaded per transaction. */
      batch_max_objects: z.number().int().min(1).default(32),
      batch_max_bytes: z.number().int().positive().default(128 * 1024 * 1024),
      /** Incremental runs list only partitions from this many days back; full runs list everything. */
      ingest_lookback_days: z.number().int().min(0).default(2),
      /** How long a run waits for another process that holds the DuckDB file; 0 fails at once. */
      lock_wait_seconds: z.number().min(0).default(0),
      /** DuckDB memory_limit for job runs (it spills to disk beyond it). */
      memory_limit: z.string().default('1GB'),
      /** DuckDB worker threads; default all cores. */
      threads: z.number().int().min(1).optional(),
      daily_report: z
        .strictObject({
          by: z.array(z.string().min(1)).default(['tag', 'model', 'key']),
          formats: z.array(z.enum(['csv', 'json', 'md', 'html'])).default(['md', 'csv']),
        })
        .prefault({}),
      /** Reconcile also writes spend_logs to the store as Hive-partitioned Parquet (docs/scale.md). */
      export_parquet: z.boolean().default(false),
    })
    .prefault({}),

  /** Invoice true-up: providers' bills imported and allocated to the records (docs/trueup.md). */
  trueup: z
    .strictObject({
      /** `tagspend trueup report` exits 1 when a day's billed cost differs from the estimate by more than this percentage. */
      alert_pct: z.number().min(0).default(5),
      /** Where `tagspend trueup fetch` asks, and the environment variable holding the admin key. */
      openai: z
        .strictObject({
          base_url: z.url().default('https://api.openai.com/v1'),
          admin_key_env: z.string().min(1).default('OPENAI_ADMIN_KEY'),
        })
        .prefault({}),
      anthropic: z
        .strictObject({
          base_url: z.url().default('https://api.anthropic.com/v1'),
          admin_key_env: z.string().min(1).default('ANTHROPIC_ADMIN_KEY'),
        })
        .prefault({}),
      fetch_timeout_ms: durationMs.default(60_000),
    })
    .prefault({}),

  /** The tag hygiene report (`tagspend report --by hygiene`). */
  hygiene: z
    .strictObject({
      /** Tag keys every request should carry (e.g. team, app): traffic without them is listed per API key. */
      required_tag_keys: z.array(z.string().min(1)).default([]),
      /** The tag key that names an application (`app:search`): untagged shares are also shown per app. */
      app_tag_key: z.string().min(1).default('app'),
    })
    .prefault({}),
});

export type ConfigInput = z.input<typeof configSchema>;
export type Config = Readonly<z.output<typeof configSchema>>;
export type ProviderConfig = z.output<typeof providerSchema>;
export type KeyConfig = z.output<typeof keySchema>;
