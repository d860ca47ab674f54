-- Migration 4: spend records of schema 2 carry cache_write_1h_tokens, the part of
-- cache_write_tokens written to the provider's cache for 1 hour (Anthropic bills it at 2x input,
-- the 5-minute writes at 1.25x). Rows loaded from schema 1 records have 0.
ALTER TABLE spend_logs ADD COLUMN IF NOT EXISTS cache_write_1h_tokens BIGINT DEFAULT 0;
