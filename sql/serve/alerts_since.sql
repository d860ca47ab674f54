-- Alerts of the windows that started at or after a time (the budgets page's current windows).
SELECT * REPLACE (
    strftime(window_start, '%Y-%m-%dT%H:%M:%S.%gZ') AS window_start,
    strftime(reset_at, '%Y-%m-%dT%H:%M:%S.%gZ') AS reset_at,
    strftime(sent_at, '%Y-%m-%dT%H:%M:%S.%gZ') AS sent_at
  )
FROM alerts_sent
WHERE window_start >= $since::TIMESTAMP
ORDER BY sent_at;
