-- The overview's totals, from the daily rollups, in one pass:
--   kind 'day'      each day's spend from $first to $to (this month, last month, the period and
--                   the period before are sums of these days)
--   kind 'no_tags'  the spend of requests with no tag at all from $from to $to
SELECT 'day' AS kind, strftime("day", '%Y-%m-%d') AS "day", spend_usd::DECIMAL(38, 10) AS spend_usd
FROM rollup_daily
WHERE "day" BETWEEN $first::DATE AND $to::DATE
UNION ALL
SELECT 'no_tags' AS kind, NULL AS "day", coalesce(sum(spend_usd), 0)::DECIMAL(38, 10) AS spend_usd
FROM rollup_daily_tag
WHERE tag IS NULL AND "day" BETWEEN $from::DATE AND $to::DATE;
