-- GET /tag/daily/activity, per tag, without a model or key filter: rollup_daily_tag holds
-- exactly these figures (each request under each of its distinct tags), a few hundred rows a
-- day instead of a pass over spend_logs. $tags empty = every tag; the untagged row is left out.
SELECT strftime("day", '%Y-%m-%d') AS "day", tag,
  requests AS api_requests,
  requests - errors AS successful_requests,
  errors AS failed_requests,
  prompt_tokens, completion_tokens, total_tokens,
  cached_tokens AS cache_read_input_tokens,
  cache_write_tokens AS cache_creation_input_tokens,
  spend_usd AS spend
FROM rollup_daily_tag
WHERE "day" BETWEEN $from::DATE AND $to::DATE
  AND tag IS NOT NULL
  AND (len($tags::VARCHAR[]) = 0 OR list_contains($tags::VARCHAR[], tag))
ORDER BY "day", tag;
