-- Spend per day and value of one tag key (split as in the reports: the values of a day add up
-- to the day's tagged spend). Requests without the key are the day's total minus these.
SELECT strftime("day", '%Y-%m-%d') AS "day", tag_value AS value, sum(spend_usd)::DECIMAL(38, 10) AS spend_usd
FROM rollup_daily_tag_key
WHERE tag_key = $key AND "day" BETWEEN $from::DATE AND $to::DATE
GROUP BY "day", tag_value
ORDER BY "day", tag_value;
