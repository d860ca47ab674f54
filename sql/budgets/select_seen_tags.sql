-- Every tag that has spend records (from the daily tag rollup), for /tag/list.
SELECT DISTINCT tag FROM rollup_daily_tag WHERE tag IS NOT NULL ORDER BY tag LIMIT 10000;
