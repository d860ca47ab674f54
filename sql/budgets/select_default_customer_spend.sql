-- Customers under the default budget: everyone with spend in the default window, highest first,
-- at most $limit (the block-list carries them; the rest are far from their budget).
SELECT "user" AS name, CAST(sum(cost_usd) AS DECIMAL(38, 10)) AS spend_usd
FROM spend_logs
WHERE ts >= $from::TIMESTAMP AND ts < $to::TIMESTAMP AND "user" IS NOT NULL
GROUP BY "user"
HAVING sum(cost_usd) > 0
ORDER BY spend_usd DESC, name
LIMIT $limit;
