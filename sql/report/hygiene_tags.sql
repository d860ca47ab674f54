-- Every tag used in the period with its requests, spend and the day it was first seen at all.
WITH p AS (
  SELECT tag, sum(requests) AS requests, sum(spend_usd) AS spend_usd
  FROM rollup_daily_tag
  WHERE tag IS NOT NULL AND "day" BETWEEN $from::DATE AND $to::DATE
  GROUP BY tag
),
f AS (SELECT tag, min("day") AS first_seen FROM rollup_daily_tag WHERE tag IS NOT NULL GROUP BY tag)
SELECT p.tag, p.requests, p.spend_usd::DECIMAL(38, 10) AS spend_usd, strftime(f.first_seen, '%Y-%m-%d') AS first_seen
FROM p JOIN f USING (tag)
ORDER BY p.spend_usd DESC, p.requests DESC, p.tag;
