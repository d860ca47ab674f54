-- Rows of the current batch per object and day (its keys are in batch_files; the manifest makes
-- them unique to it), read once: the manifest counts and the days to re-roll both come from here.
CREATE OR REPLACE TEMP TABLE batch_days AS
SELECT source_key AS "key", "day", count(*) AS n
FROM spend_logs
WHERE source_key IN (SELECT "key" FROM batch_files)
GROUP BY source_key, "day";
