-- Migration 1: the schema as of tagspend 0.1 (the first release). Every statement is
-- IF NOT EXISTS, so a file created before migrations existed upgrades by running it.


CREATE TABLE IF NOT EXISTS spend_logs (
  request_id         VARCHAR NOT NULL,
  ts                 TIMESTAMP NOT NULL,
  "day"              DATE NOT NULL,
  end_ts             TIMESTAMP,
  latency_ms         BIGINT,
  instance           VARCHAR,
  endpoint           VARCHAR,
  model              VARCHAR,
  provider           VARCHAR,
  upstream_model     VARCHAR,
  stream             BOOLEAN,
  status             INTEGER,
  outcome            VARCHAR,
  prompt_tokens      BIGINT,
  completion_tokens  BIGINT,
  total_tokens       BIGINT,
  cached_tokens      BIGINT,
  cache_write_tokens BIGINT,
  reasoning_tokens   BIGINT,
  cost_usd           DECIMAL(18, 10),
  price_ref          VARCHAR,
  tags               VARCHAR[] NOT NULL,
  "user"             VARCHAR,
  metadata           MAP(VARCHAR, VARCHAR) NOT NULL,
  key_alias          VARCHAR,
  key_hash           VARCHAR,
  error              VARCHAR,
  "schema"           INTEGER NOT NULL,
  source_key         VARCHAR NOT NULL,
  loaded_at          TIMESTAMP NOT NULL,
  repriced_at        TIMESTAMP
);

CREATE TABLE IF NOT EXISTS ingested_objects (
  "key"       VARCHAR NOT NULL,
  etag        VARCHAR,
  size        BIGINT,
  "rows"      BIGINT NOT NULL,
  duplicates  BIGINT NOT NULL,
  rejected    BIGINT NOT NULL,
  loaded_at   TIMESTAMP NOT NULL,
  run_id      BIGINT
);

CREATE TABLE IF NOT EXISTS rejected_lines (
  object_key  VARCHAR NOT NULL,
  line_number BIGINT NOT NULL,
  raw         VARCHAR NOT NULL,
  reason      VARCHAR NOT NULL,
  rejected_at TIMESTAMP NOT NULL,
  run_id      BIGINT
);

CREATE SEQUENCE IF NOT EXISTS job_run_ids START 1;

CREATE TABLE IF NOT EXISTS job_runs (
  run_id      BIGINT NOT NULL,
  job         VARCHAR NOT NULL,
  "trigger"   VARCHAR NOT NULL,
  started_at  TIMESTAMP NOT NULL,
  ended_at    TIMESTAMP,
  status      VARCHAR NOT NULL,
  objects     BIGINT,
  "rows"      BIGINT,
  duplicates  BIGINT,
  rejected    BIGINT,
  repriced    BIGINT,
  days        BIGINT,
  error       VARCHAR,
  pid         INTEGER
);

-- Days whose rows changed since their rollups were last built.
CREATE TABLE IF NOT EXISTS rollup_pending_days (
  "day" DATE PRIMARY KEY
);

-- Small key/value facts the jobs keep about the file (e.g. the timezone `day` was computed in).
CREATE TABLE IF NOT EXISTS jobs_state (
  name  VARCHAR PRIMARY KEY,
  value VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS snapshot_meta (
  published_at     TIMESTAMP NOT NULL,
  newest_record_ts TIMESTAMP,
  run_id           BIGINT
);

CREATE TABLE IF NOT EXISTS rollup_daily (
  "day" DATE NOT NULL,
  requests BIGINT NOT NULL, errors BIGINT NOT NULL, unpriced BIGINT NOT NULL,
  prompt_tokens BIGINT NOT NULL, completion_tokens BIGINT NOT NULL, total_tokens BIGINT NOT NULL,
  cached_tokens BIGINT NOT NULL, cache_write_tokens BIGINT NOT NULL, reasoning_tokens BIGINT NOT NULL,
  spend_usd DECIMAL(38, 10) NOT NULL
);

CREATE TABLE IF NOT EXISTS rollup_daily_tag (
  "day" DATE NOT NULL, tag VARCHAR,
  requests BIGINT NOT NULL, errors BIGINT NOT NULL, unpriced BIGINT NOT NULL,
  prompt_tokens BIGINT NOT NULL, completion_tokens BIGINT NOT NULL, total_tokens BIGINT NOT NULL,
  cached_tokens BIGINT NOT NULL, cache_write_tokens BIGINT NOT NULL, reasoning_tokens BIGINT NOT NULL,
  spend_usd DECIMAL(38, 10) NOT NULL
);

-- Requests split evenly across their values of each tag key (see docs/sql-tables.md).
CREATE TABLE IF NOT EXISTS rollup_daily_tag_key (
  "day" DATE NOT NULL, tag_key VARCHAR NOT NULL, tag_value VARCHAR NOT NULL,
  requests DECIMAL(38, 6) NOT NULL, errors DECIMAL(38, 6) NOT NULL, unpriced DECIMAL(38, 6) NOT NULL,
  prompt_tokens BIGINT NOT NULL, completion_tokens BIGINT NOT NULL, total_tokens BIGINT NOT NULL,
  cached_tokens BIGINT NOT NULL, cache_write_tokens BIGINT NOT NULL, reasoning_tokens BIGINT NOT NULL,
  spend_usd DECIMAL(38, 10) NOT NULL
);

CREATE TABLE IF NOT EXISTS rollup_daily_user (
  "day" DATE NOT NULL, "user" VARCHAR,
  requests BIGINT NOT NULL, errors BIGINT NOT NULL, unpriced BIGINT NOT NULL,
  prompt_tokens BIGINT NOT NULL, completion_tokens BIGINT NOT NULL, total_tokens BIGINT NOT NULL,
  cached_tokens BIGINT NOT NULL, cache_write_tokens BIGINT NOT NULL, reasoning_tokens BIGINT NOT NULL,
  spend_usd DECIMAL(38, 10) NOT NULL
);

CREATE TABLE IF NOT EXISTS rollup_daily_metadata (
  "day" DATE NOT NULL, meta_key VARCHAR NOT NULL, meta_value VARCHAR,
  requests BIGINT NOT NULL, errors BIGINT NOT NULL, unpriced BIGINT NOT NULL,
  prompt_tokens BIGINT NOT NULL, completion_tokens BIGINT NOT NULL, total_tokens BIGINT NOT NULL,
  cached_tokens BIGINT NOT NULL, cache_write_tokens BIGINT NOT NULL, reasoning_tokens BIGINT NOT NULL,
  spend_usd DECIMAL(38, 10) NOT NULL
);

CREATE TABLE IF NOT EXISTS rollup_daily_model (
  "day" DATE NOT NULL, provider VARCHAR, model VARCHAR, upstream_model VARCHAR,
  requests BIGINT NOT NULL, errors BIGINT NOT NULL, unpriced BIGINT NOT NULL,
  prompt_tokens BIGINT NOT NULL, completion_tokens BIGINT NOT NULL, total_tokens BIGINT NOT NULL,
  cached_tokens BIGINT NOT NULL, cache_write_tokens BIGINT NOT NULL, reasoning_tokens BIGINT NOT NULL,
  spend_usd DECIMAL(38, 10) NOT NULL
);

CREATE TABLE IF NOT EXISTS rollup_daily_key (
  "day" DATE NOT NULL, key_alias VARCHAR,
  requests BIGINT NOT NULL, errors BIGINT NOT NULL, unpriced BIGINT NOT NULL,
  prompt_tokens BIGINT NOT NULL, completion_tokens BIGINT NOT NULL, total_tokens BIGINT NOT NULL,
  cached_tokens BIGINT NOT NULL, cache_write_tokens BIGINT NOT NULL, reasoning_tokens BIGINT NOT NULL,
  spend_usd DECIMAL(38, 10) NOT NULL
);


-- One row per budgeted tag per budgets run: the history of each tag's spend against its budget.
CREATE TABLE IF NOT EXISTS budget_status (
  run_id          BIGINT,
  evaluated_at    TIMESTAMP NOT NULL,
  tag             VARCHAR NOT NULL,
  budget_duration VARCHAR NOT NULL,
  window_start    TIMESTAMP NOT NULL,
  reset_at        TIMESTAMP NOT NULL,
  spend_usd       DECIMAL(38, 10) NOT NULL,
  max_budget_usd  DECIMAL(38, 10) NOT NULL,
  blocked         BOOLEAN NOT NULL,
  -- Newest spend record ts loaded when the spend was summed: exact up to here.
  watermark       TIMESTAMP
);

-- One row per alert delivery: sent, logged (no webhook configured) or failed (retried next run).
CREATE TABLE IF NOT EXISTS alerts_sent (
  tag            VARCHAR NOT NULL,
  window_start   TIMESTAMP NOT NULL,
  reset_at       TIMESTAMP NOT NULL,
  threshold      DOUBLE NOT NULL,
  spend_usd      DECIMAL(38, 10) NOT NULL,
  max_budget_usd DECIMAL(38, 10) NOT NULL,
  status         VARCHAR NOT NULL,
  attempts       INTEGER NOT NULL,
  error          VARCHAR,
  sent_at        TIMESTAMP NOT NULL,
  run_id         BIGINT
);
