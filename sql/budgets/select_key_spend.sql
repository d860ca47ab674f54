-- Spend of every key with a budget (by alias), in its window.
SELECT w.name AS name,
       CAST(coalesce(sum(s.cost_usd), 0) AS DECIMAL(38, 10)) AS spend_usd
FROM budget_windows w
LEFT JOIN spend_logs s
  ON s.key_alias = w.name AND s.ts >= w.window_start AND s.ts < w.reset_at
 AND s.ts >= $from::TIMESTAMP AND s.ts < $to::TIMESTAMP
WHERE w.kind = 'key'
GROUP BY w.name;
