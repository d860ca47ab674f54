-- The latest evaluation of every budget: the rows of the newest budgets run. Every column, so a
-- budget kind added later (customers, keys) shows without a change here.
SELECT * REPLACE (
    strftime(window_start, '%Y-%m-%dT%H:%M:%S.%gZ') AS window_start,
    strftime(reset_at, '%Y-%m-%dT%H:%M:%S.%gZ') AS reset_at,
    strftime(evaluated_at, '%Y-%m-%dT%H:%M:%S.%gZ') AS evaluated_at,
    strftime(watermark, '%Y-%m-%dT%H:%M:%S.%gZ') AS watermark
  )
FROM budget_status
WHERE evaluated_at = (SELECT max(evaluated_at) FROM budget_status);
