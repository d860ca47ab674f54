-- USD per 1M tokens by token type, per model the period's records used (the price table tagspend
-- prices with, src/spend/pricing.ts; cached input, cache writes and reasoning default as costOf
-- does). Only models with a price are listed.
CREATE OR REPLACE TEMP TABLE focus_prices (
  provider VARCHAR, model VARCHAR, upstream_model VARCHAR, price_ref VARCHAR NOT NULL,
  input VARCHAR NOT NULL, cached_input VARCHAR NOT NULL, cache_write VARCHAR NOT NULL, output VARCHAR NOT NULL, reasoning VARCHAR NOT NULL
);
