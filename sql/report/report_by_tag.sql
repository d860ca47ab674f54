-- Spend by tag. A request counts under each of its tags; NULL collects untagged requests.
SELECT coalesce(tag, '(untagged)') AS tag,
    sum(requests) AS requests, sum(errors) AS errors, sum(unpriced) AS unpriced,
    sum(prompt_tokens)::BIGINT AS prompt_tokens, sum(completion_tokens)::BIGINT AS completion_tokens,
    sum(total_tokens)::BIGINT AS total_tokens, sum(cached_tokens)::BIGINT AS cached_tokens,
    sum(reasoning_tokens)::BIGINT AS reasoning_tokens, sum(spend_usd)::DECIMAL(38, 10) AS spend_usd
FROM rollup_daily_tag
WHERE "day" BETWEEN $from::DATE AND $to::DATE
GROUP BY tag
ORDER BY spend_usd DESC, requests DESC, tag;
