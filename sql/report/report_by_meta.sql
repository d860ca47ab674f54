-- Spend by the values of one metadata field; requests without the field are the (none) row.
WITH vals AS (
  SELECT meta_value AS value,
    sum(requests) AS requests, sum(errors) AS errors, sum(unpriced) AS unpriced,
    sum(prompt_tokens)::BIGINT AS prompt_tokens, sum(completion_tokens)::BIGINT AS completion_tokens,
    sum(total_tokens)::BIGINT AS total_tokens, sum(cached_tokens)::BIGINT AS cached_tokens,
    sum(reasoning_tokens)::BIGINT AS reasoning_tokens, sum(spend_usd)::DECIMAL(38, 10) AS spend_usd
  FROM rollup_daily_metadata
  WHERE meta_key = $key AND "day" BETWEEN $from::DATE AND $to::DATE
  GROUP BY meta_value
),
total AS (
  SELECT coalesce(sum(requests), 0) AS requests, coalesce(sum(errors), 0) AS errors, coalesce(sum(unpriced), 0) AS unpriced,
    coalesce(sum(prompt_tokens), 0) AS prompt_tokens, coalesce(sum(completion_tokens), 0) AS completion_tokens,
    coalesce(sum(total_tokens), 0) AS total_tokens, coalesce(sum(cached_tokens), 0) AS cached_tokens,
    coalesce(sum(reasoning_tokens), 0) AS reasoning_tokens, coalesce(sum(spend_usd), 0) AS spend_usd
  FROM rollup_daily WHERE "day" BETWEEN $from::DATE AND $to::DATE
),
present AS (
  SELECT coalesce(sum(requests), 0) AS requests, coalesce(sum(errors), 0) AS errors, coalesce(sum(unpriced), 0) AS unpriced,
    coalesce(sum(prompt_tokens), 0) AS prompt_tokens, coalesce(sum(completion_tokens), 0) AS completion_tokens,
    coalesce(sum(total_tokens), 0) AS total_tokens, coalesce(sum(cached_tokens), 0) AS cached_tokens,
    coalesce(sum(reasoning_tokens), 0) AS reasoning_tokens, coalesce(sum(spend_usd), 0) AS spend_usd
  FROM vals
),
missing AS (
  SELECT '(none)' AS value,
    (t.requests - g.requests) AS requests,
    (t.errors - g.errors) AS errors,
    (t.unpriced - g.unpriced) AS unpriced,
    (t.prompt_tokens - g.prompt_tokens)::BIGINT AS prompt_tokens,
    (t.completion_tokens - g.completion_tokens)::BIGINT AS completion_tokens,
    (t.total_tokens - g.total_tokens)::BIGINT AS total_tokens,
    (t.cached_tokens - g.cached_tokens)::BIGINT AS cached_tokens,
    (t.reasoning_tokens - g.reasoning_tokens)::BIGINT AS reasoning_tokens,
    (t.spend_usd - g.spend_usd)::DECIMAL(38, 10) AS spend_usd
  FROM total t, present g
)
SELECT * FROM (SELECT * FROM vals UNION ALL SELECT * FROM missing WHERE requests <> 0)
ORDER BY spend_usd DESC, requests DESC, value;
