-- Totals of a period and of the period of the same length before it (days inclusive, in the
-- configured timezone), from the daily rollup: one row each, `current` true for the period.
SELECT true AS current, count(*)::BIGINT AS days, coalesce(sum(COLUMNS(* EXCLUDE ("day"))), 0)
FROM rollup_daily
WHERE "day" BETWEEN $from::DATE AND $to::DATE
UNION ALL
SELECT false AS current, count(*)::BIGINT AS days, coalesce(sum(COLUMNS(* EXCLUDE ("day"))), 0)
FROM rollup_daily
WHERE "day" BETWEEN $before::DATE AND $from::DATE - 1;
