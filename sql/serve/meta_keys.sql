-- Metadata fields with spend in a period, largest first (the breakdown page offers them).
SELECT meta_key, sum(spend_usd)::DECIMAL(38, 10) AS spend_usd
FROM rollup_daily_metadata
WHERE "day" BETWEEN $from::DATE AND $to::DATE
GROUP BY meta_key
ORDER BY spend_usd DESC, meta_key
LIMIT 50;
