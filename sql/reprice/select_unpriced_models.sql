-- The models among rows to re-price (cheap: three low-cardinality columns): rows whose cost is
-- still unknown, or with $all (`tagspend jobs run reprice --all`) every row that used tokens.
SELECT provider, model, upstream_model, count(*) AS requests
FROM spend_logs
WHERE cost_usd IS NULL OR ($all AND (prompt_tokens > 0 OR completion_tokens > 0))
GROUP BY ALL;
