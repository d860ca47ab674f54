-- Costs the re-price job computed (in TypeScript, with the proxy's own costOf) per combination.
CREATE OR REPLACE TEMP TABLE repriced_usage (
  provider VARCHAR, model VARCHAR, upstream_model VARCHAR, price_day DATE,
  prompt_tokens BIGINT, completion_tokens BIGINT, total_tokens BIGINT,
  cached_tokens BIGINT, cache_write_tokens BIGINT, reasoning_tokens BIGINT, cache_write_1h_tokens BIGINT,
  cost_usd VARCHAR NOT NULL, price_ref VARCHAR NOT NULL
);
