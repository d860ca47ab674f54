-- Rows of the current batch per object and day, read once: the manifest counts and the days to
-- re-roll both come from here. The batch's rows are those appended after $appended_after
-- (sql/ingest/select_last_rowid.sql), so the scan never reads the rows of earlier batches.
CREATE OR REPLACE TEMP TABLE batch_days AS
SELECT source_key AS "key", "day", count(*) AS n
FROM spend_logs
WHERE rowid > $appended_after
GROUP BY source_key, "day";
