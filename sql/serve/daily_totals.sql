-- Spend and requests per day of a period (days in the configured timezone), from the daily rollup.
SELECT strftime("day", '%Y-%m-%d') AS "day", requests, spend_usd::DECIMAL(38, 10) AS spend_usd
FROM rollup_daily
WHERE "day" BETWEEN $from::DATE AND $to::DATE
ORDER BY "day";
