-- Totals of a period (days inclusive, in the configured timezone), from the daily rollup.
SELECT count(*)::BIGINT AS days, coalesce(sum(COLUMNS(* EXCLUDE ("day"))), 0)
FROM rollup_daily
WHERE "day" BETWEEN $from::DATE AND $to::DATE;
