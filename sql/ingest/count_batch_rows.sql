-- Rows of the current batch per object after duplicates were dropped (the batch's rows: those
-- appended after $appended_after, sql/ingest/select_last_rowid.sql).
SELECT source_key AS "key", count(*) AS n
FROM spend_logs
WHERE rowid > $appended_after
GROUP BY source_key;
