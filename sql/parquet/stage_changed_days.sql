-- The days whose Parquet copy is missing or out of date (sql/parquet/stage_day_fingerprints.sql);
-- $full: every day.
CREATE OR REPLACE TEMP TABLE parquet_changed AS
SELECT d."day", d."rows", d.fingerprint
FROM parquet_days d LEFT JOIN parquet_exports e USING ("day")
WHERE $full OR e.fingerprint IS DISTINCT FROM d.fingerprint;
