-- Tags whose spend on $today is at least $factor times the median of their 7 previous days (a
-- day without spend counts as 0) and at least $min_usd. A tag without history has median 0 and
-- is never a spike. Reads the daily tag rollup, so it runs after rollup.
WITH today AS (
  SELECT tag, sum(spend_usd) AS spend
  FROM rollup_daily_tag
  WHERE "day" = $today::DATE AND tag IS NOT NULL
  GROUP BY tag
  HAVING sum(spend_usd) >= $min_usd
), past AS (
  SELECT tag, "day", sum(spend_usd) AS spend
  FROM rollup_daily_tag
  WHERE "day" >= $today::DATE - 7 AND "day" < $today::DATE AND tag IN (SELECT tag FROM today)
  GROUP BY tag, "day"
), grid AS (
  SELECT t.tag, CAST($today::DATE - CAST(r.i AS INTEGER) AS DATE) AS "day"
  FROM today t CROSS JOIN range(1, 8) AS r(i)
), history AS (
  SELECT g.tag, median(coalesce(p.spend, 0)) AS median
  FROM grid g LEFT JOIN past p ON p.tag = g.tag AND p."day" = g."day"
  GROUP BY g.tag
)
SELECT t.tag AS tag, CAST(t.spend AS DOUBLE) AS spend, CAST(tr.median AS DOUBLE) AS median
FROM today t JOIN history tr ON tr.tag = t.tag
WHERE tr.median > 0 AND t.spend >= $factor * tr.median
ORDER BY t.tag;
