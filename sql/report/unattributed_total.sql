-- Billed cost of the period no record accounts for (the (unattributed) row of billed reports),
-- by the bills' UTC days.
SELECT coalesce(sum(unattributed_usd), 0)::DECIMAL(38, 10) AS unattributed_usd
FROM trueup_pools
WHERE "day" BETWEEN $from::DATE AND $to::DATE;
