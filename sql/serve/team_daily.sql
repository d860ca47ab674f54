-- Exact spend per day and value of a tag key, and per day the spend without one (value NULL),
-- from the rollups: the per-team totals of /global/spend/report?group_by=team.
WITH vals AS (
  SELECT "day", tag_value AS value, sum(spend_usd) AS spend_usd
  FROM rollup_daily_tag_key
  WHERE tag_key = $key AND "day" BETWEEN $from::DATE AND $to::DATE
  GROUP BY "day", tag_value
)
SELECT strftime("day", '%Y-%m-%d') AS "day", value, spend_usd::DECIMAL(38, 10) AS spend_usd FROM vals
UNION ALL
SELECT strftime(d."day", '%Y-%m-%d'), NULL, (d.spend_usd - coalesce((SELECT sum(v.spend_usd) FROM vals v WHERE v."day" = d."day"), 0))::DECIMAL(38, 10)
FROM rollup_daily d
WHERE d."day" BETWEEN $from::DATE AND $to::DATE
ORDER BY 1, 2 NULLS LAST;
