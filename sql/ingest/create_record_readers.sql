-- Readers of spend-record NDJSON (schemas 1 and 2, src/spend/record.ts), created per session.
-- Schema 1 records have no cache_write_1h_tokens: the column reads NULL and is loaded as 0.
-- The column list is explicit so nothing is auto-detected: a field of the wrong type is an
-- error, not a silently different column. Timestamps are read as TIMESTAMPTZ so an offset in
-- `ts` is honoured; they are stored as UTC TIMESTAMP.
--
-- read_spend_records: the objects as they are (gzip NDJSON), one row per line.
-- read_spend_wrapped: lines re-wrapped as {"n": <line number>, "r": <line>} by the loader's slow
--   path, so each row keeps its line number. The STRUCT below must list the same fields with the
--   same types as the column list above it.

CREATE OR REPLACE TEMP MACRO read_spend_records(files) AS TABLE
SELECT * FROM read_json(
  files,
  format = 'newline_delimited',
  compression = 'gzip',
  filename = true,
  hive_partitioning = false,
  columns = {
    "schema": 'INTEGER', request_id: 'VARCHAR', ts: 'TIMESTAMPTZ', end_ts: 'TIMESTAMPTZ',
    latency_ms: 'BIGINT', instance: 'VARCHAR', endpoint: 'VARCHAR', model: 'VARCHAR',
    provider: 'VARCHAR', upstream_model: 'VARCHAR', stream: 'BOOLEAN', status: 'INTEGER',
    outcome: 'VARCHAR', prompt_tokens: 'BIGINT', completion_tokens: 'BIGINT',
    total_tokens: 'BIGINT', cached_tokens: 'BIGINT', cache_write_tokens: 'BIGINT',
    reasoning_tokens: 'BIGINT', cost_usd: 'DECIMAL(18,10)', price_ref: 'VARCHAR',
    tags: 'VARCHAR[]', "user": 'VARCHAR', metadata: 'MAP(VARCHAR, VARCHAR)',
    key_alias: 'VARCHAR', key_hash: 'VARCHAR', error: 'VARCHAR', cache_write_1h_tokens: 'BIGINT'
  }
);

CREATE OR REPLACE TEMP MACRO read_spend_wrapped(files) AS TABLE
SELECT n, r.* FROM read_json(
  files,
  format = 'newline_delimited',
  compression = 'uncompressed',
  hive_partitioning = false,
  columns = {
    n: 'BIGINT',
    r: 'STRUCT("schema" INTEGER, request_id VARCHAR, ts TIMESTAMPTZ, end_ts TIMESTAMPTZ,
      latency_ms BIGINT, instance VARCHAR, endpoint VARCHAR, model VARCHAR,
      provider VARCHAR, upstream_model VARCHAR, stream BOOLEAN, status INTEGER,
      outcome VARCHAR, prompt_tokens BIGINT, completion_tokens BIGINT,
      total_tokens BIGINT, cached_tokens BIGINT, cache_write_tokens BIGINT,
      reasoning_tokens BIGINT, cost_usd DECIMAL(18,10), price_ref VARCHAR,
      tags VARCHAR[], "user" VARCHAR, metadata MAP(VARCHAR, VARCHAR),
      key_alias VARCHAR, key_hash VARCHAR, error VARCHAR, cache_write_1h_tokens BIGINT)'
  }
);

-- Why a parsed line is not a usable record, or NULL when it is. Field types were already
-- enforced by the readers; these are the fields every record must carry.
CREATE OR REPLACE TEMP MACRO spend_record_problem(schema_version, request_id, ts) AS
  CASE
    WHEN schema_version IS NULL THEN 'schema is missing'
    WHEN schema_version NOT IN (1, 2) THEN 'unsupported schema ' || schema_version::VARCHAR || ' (expected 1 or 2)'
    WHEN request_id IS NULL OR request_id = '' THEN 'request_id is missing or empty'
    WHEN ts IS NULL THEN 'ts is missing'
  END;

-- The date of a UTC instant in the configured time zone (the rollups' "day").
CREATE OR REPLACE TEMP MACRO local_day(ts, tz) AS
  CASE WHEN tz = 'UTC' THEN ts::TIMESTAMP::DATE ELSE timezone(tz, ts)::DATE END;
