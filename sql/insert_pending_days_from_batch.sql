INSERT OR IGNORE INTO rollup_pending_days
SELECT DISTINCT "day" FROM spend_logs WHERE source_key IN (SELECT "key" FROM batch_files);
