-- Tag keys (`team` of `team:search`) with their spend in a period, largest first.
SELECT tag_key, sum(spend_usd)::DECIMAL(38, 10) AS spend_usd
FROM rollup_daily_tag_key
WHERE "day" BETWEEN $from::DATE AND $to::DATE
GROUP BY tag_key
ORDER BY spend_usd DESC, tag_key;
