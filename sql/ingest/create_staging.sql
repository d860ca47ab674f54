-- Per-batch scratch tables (TEMP: never in the file, gone with the session).
-- batch_files: downloaded file path -> object key (the keys of staged_rejects); slow_rows: lines
-- of one object re-read line by line; staged_rejects: lines that will go to rejected_lines.

CREATE OR REPLACE TEMP TABLE batch_files (path VARCHAR NOT NULL, "key" VARCHAR NOT NULL);

CREATE OR REPLACE TEMP TABLE slow_rows (
  n BIGINT, "schema" INTEGER, request_id VARCHAR, ts TIMESTAMPTZ, end_ts TIMESTAMPTZ,
  latency_ms BIGINT, instance VARCHAR, endpoint VARCHAR, model VARCHAR, provider VARCHAR,
  upstream_model VARCHAR, stream BOOLEAN, status INTEGER, outcome VARCHAR,
  prompt_tokens BIGINT, completion_tokens BIGINT, total_tokens BIGINT, cached_tokens BIGINT,
  cache_write_tokens BIGINT, reasoning_tokens BIGINT, cost_usd DECIMAL(18, 10),
  price_ref VARCHAR, tags VARCHAR[], "user" VARCHAR, metadata MAP(VARCHAR, VARCHAR),
  key_alias VARCHAR, key_hash VARCHAR, error VARCHAR, cache_write_1h_tokens BIGINT
);

CREATE OR REPLACE TEMP TABLE staged_rejects (
  filename VARCHAR NOT NULL, line_number BIGINT NOT NULL, raw VARCHAR NOT NULL, reason VARCHAR NOT NULL
);
