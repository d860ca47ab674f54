-- GET /global/spend/report?group_by=customer: how many customers (end users, no user counting
-- as one) spent in the period, from rollup_daily_user.
SELECT count(*) AS customers
FROM (SELECT DISTINCT "user" FROM rollup_daily_user WHERE "day" BETWEEN $from::DATE AND $to::DATE);
