-- Objects of the batch that have at least one parsed row that is not a usable record.
SELECT DISTINCT filename FROM staged
WHERE spend_record_problem("schema", request_id, ts) IS NOT NULL;
