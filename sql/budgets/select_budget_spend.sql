-- Spend of every budgeted tag in its own window, in one scan of spend_logs whatever the number
-- of tags: $from/$to (the earliest window start, the latest reset) let zone maps skip older row
-- groups; each row's distinct tags are matched to the windows by a hash join on the tag.
SELECT w.name AS name,
       CAST(coalesce(sum(s.cost_usd), 0) AS DECIMAL(38, 10)) AS spend_usd,
       count(s.ts) AS requests
FROM budget_windows w
LEFT JOIN (
  SELECT ts, cost_usd, unnest(list_distinct(tags)) AS tag
  FROM spend_logs
  WHERE ts >= $from::TIMESTAMP AND ts < $to::TIMESTAMP
) s ON s.tag = w.name AND s.ts >= w.window_start AND s.ts < w.reset_at
WHERE w.kind = 'tag'
GROUP BY w.name;
