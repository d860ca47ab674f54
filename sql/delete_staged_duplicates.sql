-- A request id is stored once. Rows already in spend_logs are dropped (the inner IN builds its
-- hash table on the small batch and probes spend_logs once); among copies inside the batch the
-- one from the first object in key order is kept, so batch boundaries never change the result.
DELETE FROM staged
WHERE request_id IN (
  SELECT request_id FROM spend_logs WHERE request_id IN (SELECT request_id FROM staged)
);

DELETE FROM staged
WHERE rowid IN (
  SELECT rid FROM (
    SELECT s.rowid AS rid,
           row_number() OVER (
             PARTITION BY s.request_id
             ORDER BY f."key", s.end_ts, s.cost_usd NULLS LAST, s.total_tokens, s.status
           ) AS copy
    FROM staged s JOIN batch_files f ON s.filename = f.path
    WHERE s.request_id IN (SELECT request_id FROM staged GROUP BY request_id HAVING count(*) > 1)
  )
  WHERE copy > 1
);
