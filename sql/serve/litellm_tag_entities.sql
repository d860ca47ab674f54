-- GET /tag/daily/activity, per tag: each request counts under each of its distinct tags (as in
-- rollup_daily_tag and `tagspend report --by tag`). $tags empty = every tag.
SELECT strftime("day", '%Y-%m-%d') AS "day", t AS tag,
  count(*) AS api_requests,
  count(*) FILTER (WHERE outcome = 'success') AS successful_requests,
  count(*) FILTER (WHERE outcome IS DISTINCT FROM 'success') AS failed_requests,
  coalesce(sum(prompt_tokens), 0)::BIGINT AS prompt_tokens,
  coalesce(sum(completion_tokens), 0)::BIGINT AS completion_tokens,
  coalesce(sum(total_tokens), 0)::BIGINT AS total_tokens,
  coalesce(sum(cached_tokens), 0)::BIGINT AS cache_read_input_tokens,
  coalesce(sum(cache_write_tokens), 0)::BIGINT AS cache_creation_input_tokens,
  coalesce(sum(cost_usd), 0)::DECIMAL(38, 10) AS spend
FROM (SELECT *, unnest(list_distinct(tags)) AS t FROM spend_logs WHERE "day" BETWEEN $from::DATE AND $to::DATE)
WHERE (len($tags::VARCHAR[]) = 0 OR list_contains($tags::VARCHAR[], t))
  AND ($model::VARCHAR IS NULL OR model = $model::VARCHAR)
  AND ($key::VARCHAR IS NULL OR key_hash = $key::VARCHAR OR key_alias = $key::VARCHAR)
GROUP BY "day", t
ORDER BY "day", t;
