-- Spend of one tag in one budget window [start, reset).
SELECT CAST(coalesce(sum(cost_usd), 0) AS DECIMAL(38, 10)) AS spend_usd, count(*) AS requests
FROM spend_logs
WHERE ts >= $start::TIMESTAMP AND ts < $reset::TIMESTAMP AND list_contains(tags, $tag);
