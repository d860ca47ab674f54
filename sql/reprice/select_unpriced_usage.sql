-- The distinct usage combinations among unpriced rows of the models the price table now knows.
SELECT s.provider, s.model, s.upstream_model, s.prompt_tokens, s.completion_tokens, s.total_tokens,
  s.cached_tokens, s.cache_write_tokens, s.reasoning_tokens, s.cache_write_1h_tokens
FROM spend_logs s
SEMI JOIN repriceable_models m
  ON s.provider IS NOT DISTINCT FROM m.provider AND s.model IS NOT DISTINCT FROM m.model
  AND s.upstream_model IS NOT DISTINCT FROM m.upstream_model
WHERE s.cost_usd IS NULL
GROUP BY ALL;
