-- GET /tag/daily/activity, per day: the requests carrying any of $tags (any tag when empty),
-- each counted once, and their breakdown by model, provider, endpoint and key (GROUPING SETS).
SELECT strftime("day", '%Y-%m-%d') AS "day",
  CASE WHEN grouping(model) = 0 THEN 'model' WHEN grouping(provider) = 0 THEN 'provider'
       WHEN grouping(endpoint) = 0 THEN 'endpoint' WHEN grouping(key_hash) = 0 THEN 'key' ELSE 'day' END AS level,
  model, provider, endpoint, key_hash, any_value(key_alias) AS key_alias,
  count(*) AS api_requests,
  count(*) FILTER (WHERE outcome = 'success') AS successful_requests,
  count(*) FILTER (WHERE outcome IS DISTINCT FROM 'success') AS failed_requests,
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
GROUP BY GROUPING SETS (("day"), ("day", model), ("day", provider), ("day", endpoint), ("day", key_hash))
ORDER BY "day";
