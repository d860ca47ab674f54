-- Rows of the current batch per object (its keys are in batch_files; the manifest makes them unique to it).
SELECT source_key AS "key", count(*) AS n
FROM spend_logs
WHERE source_key IN (SELECT "key" FROM batch_files)
GROUP BY source_key;
