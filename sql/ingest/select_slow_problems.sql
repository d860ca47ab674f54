-- Lines of the object being re-read that parsed but are not usable records.
SELECT n, spend_record_problem("schema", request_id, ts) AS reason
FROM slow_rows
WHERE spend_record_problem("schema", request_id, ts) IS NOT NULL
ORDER BY n;
