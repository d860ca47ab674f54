UPDATE spend_logs AS s
SET cost_usd = p.cost_usd::DECIMAL(18, 10), price_ref = p.price_ref, repriced_at = $repriced_at::TIMESTAMP
FROM repriced_usage AS p
WHERE (s.cost_usd IS NULL OR ($all AND (s.prompt_tokens > 0 OR s.completion_tokens > 0)))
  AND (s.cost_usd IS DISTINCT FROM p.cost_usd::DECIMAL(18, 10) OR s.price_ref IS DISTINCT FROM p.price_ref)
  AND s.provider IS NOT DISTINCT FROM p.provider AND s.model IS NOT DISTINCT FROM p.model
  AND s.upstream_model IS NOT DISTINCT FROM p.upstream_model AND s.ts::DATE = p.price_day
  AND s.prompt_tokens IS NOT DISTINCT FROM p.prompt_tokens AND s.completion_tokens IS NOT DISTINCT FROM p.completion_tokens
  AND s.total_tokens IS NOT DISTINCT FROM p.total_tokens AND s.cached_tokens IS NOT DISTINCT FROM p.cached_tokens
  AND s.cache_write_tokens IS NOT DISTINCT FROM p.cache_write_tokens AND s.reasoning_tokens IS NOT DISTINCT FROM p.reasoning_tokens
  AND s.cache_write_1h_tokens IS NOT DISTINCT FROM p.cache_write_1h_tokens;
