-- GET /tag/daily/activity, per day: the requests carrying any of $tags (any tag when empty),
-- each counted once, and their breakdown by model, provider, endpoint and key. One pass over
-- spend_logs groups the requests by every breakdown column at once (a few dozen groups a day),
-- and the GROUPING SETS roll those groups up: GROUPING SETS straight over spend_logs aggregated
-- every request five times.
WITH g AS (
  SELECT "day", model, provider, endpoint, key_hash, any_value(key_alias) AS key_alias,
    count(*) AS api_requests,
    count(*) FILTER (WHERE outcome = 'success') AS successful_requests,
    coalesce(sum(prompt_tokens), 0)::BIGINT AS prompt_tokens,
    coalesce(sum(completion_tokens), 0)::BIGINT AS completion_tokens,
    coalesce(sum(total_tokens), 0)::BIGINT AS total_tokens,
    coalesce(sum(cached_tokens), 0)::BIGINT AS cache_read_input_tokens,
    coalesce(sum(cache_write_tokens), 0)::BIGINT AS cache_creation_input_tokens,
    coalesce(sum(cost_usd), 0)::DECIMAL(38, 10) AS spend
  FROM spend_logs
  WHERE "day" BETWEEN $from::DATE AND $to::DATE
    AND (CASE WHEN len($tags::VARCHAR[]) = 0 THEN len(tags) > 0 ELSE list_has_any(tags, $tags::VARCHAR[]) END)
    AND ($model::VARCHAR IS NULL OR model = $model::VARCHAR)
    AND ($key::VARCHAR IS NULL OR key_hash = $key::VARCHAR OR key_alias = $key::VARCHAR)
  GROUP BY "day", model, provider, endpoint, key_hash
)
SELECT strftime("day", '%Y-%m-%d') AS "day",
  CASE WHEN grouping(model) = 0 THEN 'model' WHEN grouping(provider) = 0 THEN 'provider'
       WHEN grouping(endpoint) = 0 THEN 'endpoint' WHEN grouping(key_hash) = 0 THEN 'key' ELSE 'day' END AS level,
  model, provider, endpoint, key_hash, any_value(key_alias) AS key_alias,
  sum(api_requests)::BIGINT AS api_requests,
  sum(successful_requests)::BIGINT AS successful_requests,
  (sum(api_requests) - sum(successful_requests))::BIGINT AS failed_requests,
  sum(prompt_tokens)::BIGINT AS prompt_tokens,
  sum(completion_tokens)::BIGINT AS completion_tokens,
  sum(total_tokens)::BIGINT AS total_tokens,
  sum(cache_read_input_tokens)::BIGINT AS cache_read_input_tokens,
  sum(cache_creation_input_tokens)::BIGINT AS cache_creation_input_tokens,
  sum(spend)::DECIMAL(38, 10) AS spend
FROM g
GROUP BY GROUPING SETS (("day"), ("day", model), ("day", provider), ("day", endpoint), ("day", key_hash))
ORDER BY "day";
