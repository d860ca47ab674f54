-- Spend by one dimension over a period, each row with its spend in the period of the same
-- length before it (days inclusive, in the configured timezone), from the rollups through
-- report_source (create_report_source.sql): one query for every dimension, both periods in one
-- pass, the rows in the report's order, optionally one page of them.
--   $from, $to  the period; $before  the first day of the period before (it ends at $from - 1)
--   $dim, $key  which rows of report_source
--   $split      the dimension's rows add up to the total (tag:KEY splits a request between its
--               values, a request has one value of a metadata field): requests without a value
--               are the remainder, the period total minus the rows. Otherwise the rollup has
--               its own NULL row (untagged, no user, ...).
--   $billed     order by billed cost (tagspend report --basis billed) instead of the estimate
--   $offset, $limit  the page of rows (NULL limit: every row); row_count counts them all
-- The NULL row keeps NULL labels: a real value may be any text, even '(untagged)', so only the
-- renderers name it (src/report/render/labels.ts). The previous period's spend is matched to the
-- rows here, so a page of a 50,000-row report moves only its own rows into JavaScript.
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
),
both_periods AS (
  SELECT * FROM vals UNION ALL BY NAME SELECT * FROM rest WHERE requests <> 0 OR spend_usd <> 0 OR billed_usd <> 0
),
previous AS (
  SELECT value, detail, sum(CASE WHEN $billed THEN billed_usd ELSE spend_usd END) AS money
  FROM both_periods WHERE NOT current GROUP BY value, detail
)
-- Only the measures a report row shows; previous_money: spend_usd, or billed_usd with $billed;
-- row_count only for a page (each column handed over costs a report of 50,000 rows ~5%).
SELECT c.value, c.detail, c.requests, c.errors, c.prompt_tokens, c.completion_tokens, c.total_tokens, c.spend_usd, c.billed_usd,
  coalesce(p.money, 0) AS previous_money,
  CASE WHEN $limit IS NOT NULL THEN count(*) OVER () END AS row_count
FROM both_periods c
LEFT JOIN previous p ON c.value IS NOT DISTINCT FROM p.value AND c.detail IS NOT DISTINCT FROM p.detail
WHERE c.current
ORDER BY CASE WHEN $billed THEN c.billed_usd ELSE c.spend_usd END DESC, c.spend_usd DESC, c.requests DESC, c.value, c.detail
LIMIT $limit OFFSET $offset;
