-- The models among rows whose cost is still unknown (cheap: three low-cardinality columns).
SELECT provider, model, upstream_model, count(*) AS requests
FROM spend_logs
WHERE cost_usd IS NULL
GROUP BY ALL;
