-- After the changed days' objects are in the store: their fingerprints, so the next run skips them.
INSERT INTO parquet_exports
SELECT c."day", c.fingerprint, c."rows", f.files, $exported_at::TIMESTAMP, $run_id
FROM parquet_changed c JOIN parquet_files f ON f."day" = strftime(c."day", '%Y-%m-%d');
