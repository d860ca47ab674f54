-- The distinct usage combinations among the rows to re-price of the models the price table now
-- knows, per UTC day (a dated price change applies from its day on).
SELECT s.provider, s.model, s.upstream_model, s.ts::DATE::VARCHAR AS price_day, s.prompt_tokens, s.completion_tokens,
  s.total_tokens, s.cached_tokens, s.cache_write_tokens, s.reasoning_tokens, s.cache_write_1h_tokens
FROM spend_logs s
SEMI JOIN repriceable_models m
  ON s.provider IS NOT DISTINCT FROM m.provider AND s.model IS NOT DISTINCT FROM m.model
  AND s.upstream_model IS NOT DISTINCT FROM m.upstream_model
WHERE s.cost_usd IS NULL OR ($all AND (s.prompt_tokens > 0 OR s.completion_tokens > 0))
GROUP BY ALL;
