-- Every day of spend_logs with its fingerprint: the row count and an order-independent hash of a
-- row's identity and of what can change in it after it is loaded (its cost when re-priced, its
-- billed share when bills are allocated). Late objects, re-pricing, true-up and a timezone change
-- (rows moving days) all change it. The leading version names the file layout: a new layout
-- rewrites every day.
CREATE OR REPLACE TEMP TABLE parquet_days AS
SELECT "day", count(*) AS "rows",
  'v1:' || count(*)::VARCHAR || ':' || sum(hash(request_id, cost_usd, billed_usd, price_ref))::VARCHAR AS fingerprint
FROM spend_logs
GROUP BY "day";

-- Days exported before that have no rows now (a timezone change moved them): their objects go.
CREATE OR REPLACE TEMP TABLE parquet_gone AS
SELECT e."day" FROM parquet_exports e ANTI JOIN parquet_days d USING ("day");
