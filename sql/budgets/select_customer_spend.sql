-- Spend of every customer with a budget of their own, in its window (the user column holds the
-- stored form of the id, hashed or not, as the definitions do).
SELECT w.name AS name,
       CAST(coalesce(sum(s.cost_usd), 0) AS DECIMAL(38, 10)) AS spend_usd
FROM budget_windows w
LEFT JOIN spend_logs s
  ON s."user" = w.name AND s.ts >= w.window_start AND s.ts < w.reset_at
 AND s.ts >= $from::TIMESTAMP AND s.ts < $to::TIMESTAMP
WHERE w.kind = 'customer'
GROUP BY w.name;
