-- The UTC days to allocate (again): days whose bills changed, and billed days next to a local
-- day whose rows changed (ingest, re-price: rollup_pending_days; a local day overlaps up to three
-- UTC days). With $full, every billed or allocated day.
CREATE OR REPLACE TEMP TABLE trueup_scope AS
SELECT DISTINCT "day" FROM (
  SELECT "day" FROM trueup_pending_days
  UNION ALL
  SELECT b."day" FROM (SELECT DISTINCT "day" FROM billed_costs) b
  JOIN rollup_pending_days p ON b."day" BETWEEN p."day" - 1 AND p."day" + 1
  UNION ALL
  SELECT "day" FROM billed_costs WHERE $full
  UNION ALL
  SELECT "day" FROM trueup_pools WHERE $full
);
