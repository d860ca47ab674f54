-- Spend of requests that carry no tag at all in a period.
SELECT coalesce(sum(spend_usd), 0)::DECIMAL(38, 10) AS spend_usd, coalesce(sum(requests), 0)::BIGINT AS requests
FROM rollup_daily_tag
WHERE tag IS NULL AND "day" BETWEEN $from::DATE AND $to::DATE;
