-- Totals of a period (days inclusive, in the configured timezone), from the daily rollup.
SELECT count(*)::BIGINT AS days, coalesce(sum(requests), 0)::BIGINT AS requests,
  coalesce(sum(errors), 0)::BIGINT AS errors, coalesce(sum(unpriced), 0)::BIGINT AS unpriced,
  coalesce(sum(prompt_tokens), 0)::BIGINT AS prompt_tokens, coalesce(sum(completion_tokens), 0)::BIGINT AS completion_tokens,
  coalesce(sum(total_tokens), 0)::BIGINT AS total_tokens, coalesce(sum(cached_tokens), 0)::BIGINT AS cached_tokens,
  coalesce(sum(reasoning_tokens), 0)::BIGINT AS reasoning_tokens, coalesce(sum(spend_usd), 0)::DECIMAL(38, 10) AS spend_usd
FROM rollup_daily
WHERE "day" BETWEEN $from::DATE AND $to::DATE;
