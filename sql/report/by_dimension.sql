-- Spend by one dimension over a period and the period of the same length before it (days
-- inclusive, in the configured timezone), from the rollups through report_source
-- (create_report_source.sql): one query for every dimension, both periods in one pass.
--   $from, $to  the period; $before  the first day of the period before (it ends at $from - 1)
--   $dim, $key  which rows of report_source
--   $split      the dimension's rows add up to the total (tag:KEY splits a request between its
--               values, a request has one value of a metadata field): requests without a value
--               are the remainder, the period total minus the rows. Otherwise the rollup has
--               its own NULL row (untagged, no user, ...).
--   $billed     order by billed cost (tagspend report --basis billed) instead of the estimate
-- `current` tells the period's rows (true) from the period before's (false).
-- The NULL row keeps NULL labels: a real value may be any text, even '(untagged)', so only the
-- renderers name it (src/report/render/labels.ts).
WITH vals AS (
  SELECT "day" >= $from::DATE AS current, value, detail, sum(COLUMNS(* EXCLUDE (dim, dim_key, value, detail, "day")))
  FROM report_source
  WHERE dim = $dim AND dim_key IS NOT DISTINCT FROM $key AND "day" BETWEEN $before::DATE AND $to::DATE
  GROUP BY current, value, detail
),
-- The period totals minus the rows, per period: plain sums (no GROUP BY), far cheaper here than a
-- hash aggregate over two groups.
parts AS (
  SELECT "day" >= $from::DATE AS current, COLUMNS(* EXCLUDE ("day"))
  FROM rollup_daily
  WHERE "day" BETWEEN $before::DATE AND $to::DATE
  UNION ALL BY NAME
  SELECT current, -COLUMNS(* EXCLUDE (current, value, detail)) FROM vals
),
rest AS (
  SELECT true AS current, NULL AS value, NULL AS detail, sum(COLUMNS(* EXCLUDE (current))) FROM parts WHERE current HAVING $split
  UNION ALL
  SELECT false AS current, NULL AS value, NULL AS detail, sum(COLUMNS(* EXCLUDE (current))) FROM parts WHERE NOT current HAVING $split
)
SELECT current, value, detail, * EXCLUDE (current, value, detail)
FROM (SELECT * FROM vals UNION ALL BY NAME SELECT * FROM rest WHERE requests <> 0 OR spend_usd <> 0 OR billed_usd <> 0)
ORDER BY current DESC, CASE WHEN $billed THEN billed_usd ELSE spend_usd END DESC, spend_usd DESC, requests DESC, value, detail;
