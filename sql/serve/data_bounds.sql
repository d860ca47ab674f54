-- The first and last day with spend (NULL when there is none).
SELECT strftime(min("day"), '%Y-%m-%d') AS first_day, strftime(max("day"), '%Y-%m-%d') AS last_day FROM rollup_daily;
