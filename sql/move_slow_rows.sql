-- The usable lines of the re-read object join the batch.
INSERT INTO staged BY NAME
SELECT $filename AS filename, * EXCLUDE (n) FROM slow_rows
WHERE spend_record_problem("schema", request_id, ts) IS NULL;
