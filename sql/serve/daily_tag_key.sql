-- Spend per day and value of one tag key from $from to $to, and per value over the period
-- before ($before to $from - 1; "day" NULL), split as in the reports: the values of a day add up
-- to the day's tagged spend, and requests without the key are the day's total minus these.
-- Rows in order of each value's first day, then value.
SELECT CASE WHEN "day" >= $from::DATE THEN strftime("day", '%Y-%m-%d') END AS "day", tag_value AS value,
  sum(spend_usd)::DECIMAL(38, 10) AS spend_usd
FROM rollup_daily_tag_key
WHERE tag_key = $key AND "day" BETWEEN $before::DATE AND $to::DATE
GROUP BY ALL
ORDER BY min(rollup_daily_tag_key."day"), value;
