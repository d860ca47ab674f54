-- Spend by one dimension over a period (days inclusive, in the configured timezone), from the
-- rollups through report_source (create_report_source.sql): one query for every dimension.
--   $dim, $key  which rows of report_source
--   $split      the dimension's rows add up to the total (tag:KEY splits a request between its
--               values, a request has one value of a metadata field): requests without a value
--               are the remainder, the period total minus the rows. Otherwise the rollup has
--               its own NULL row (untagged, no user, ...).
--   $billed     order by billed cost (tagspend report --basis billed) instead of the estimate
-- The NULL row keeps NULL labels: a real value may be any text, even '(untagged)', so only the
-- renderers name it (src/report/render/labels.ts).
WITH vals AS (
  SELECT value, detail, sum(COLUMNS(* EXCLUDE (dim, dim_key, value, detail, "day")))
  FROM report_source
  WHERE dim = $dim AND dim_key IS NOT DISTINCT FROM $key AND "day" BETWEEN $from::DATE AND $to::DATE
  GROUP BY value, detail
),
rest AS (
  SELECT NULL AS value, NULL AS detail, sum(COLUMNS(*))
  FROM (
    SELECT sum(COLUMNS(* EXCLUDE ("day"))) FROM rollup_daily WHERE "day" BETWEEN $from::DATE AND $to::DATE
    UNION ALL BY NAME
    SELECT -COLUMNS(* EXCLUDE (value, detail)) FROM vals
  )
  HAVING $split
)
SELECT value, detail, * EXCLUDE (value, detail)
FROM (SELECT * FROM vals UNION ALL BY NAME SELECT * FROM rest WHERE requests <> 0 OR spend_usd <> 0 OR billed_usd <> 0)
ORDER BY CASE WHEN $billed THEN billed_usd ELSE spend_usd END DESC, spend_usd DESC, requests DESC, value, detail;
