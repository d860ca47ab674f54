-- Migration 4: spend records of schema 2 carry cache_write_1h_tokens, the part of
-- cache_write_tokens written to the provider's cache for 1 hour (Anthropic bills it at 2x input,
-- the 5-minute writes at 1.25x). Rows loaded from schema 1 records have 0.
ALTER TABLE spend_logs ADD COLUMN IF NOT EXISTS cache_write_1h_tokens BIGINT DEFAULT 0;

-- The rollups sum it like every other measure (sql/rollup/stage_rollup_inputs.sql). DuckDB adds
-- no column with a constraint: the sums are never NULL all the same (coalesce in spend_measures).
ALTER TABLE rollup_daily ADD COLUMN IF NOT EXISTS cache_write_1h_tokens BIGINT DEFAULT 0;
ALTER TABLE rollup_daily_tag ADD COLUMN IF NOT EXISTS cache_write_1h_tokens BIGINT DEFAULT 0;
ALTER TABLE rollup_daily_tag_key ADD COLUMN IF NOT EXISTS cache_write_1h_tokens BIGINT DEFAULT 0;
ALTER TABLE rollup_daily_user ADD COLUMN IF NOT EXISTS cache_write_1h_tokens BIGINT DEFAULT 0;
ALTER TABLE rollup_daily_metadata ADD COLUMN IF NOT EXISTS cache_write_1h_tokens BIGINT DEFAULT 0;
ALTER TABLE rollup_daily_model ADD COLUMN IF NOT EXISTS cache_write_1h_tokens BIGINT DEFAULT 0;
ALTER TABLE rollup_daily_key ADD COLUMN IF NOT EXISTS cache_write_1h_tokens BIGINT DEFAULT 0;
