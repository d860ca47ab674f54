-- A request id is stored once. Among the copies of an id the batch brought in, a row stored by
-- an earlier batch is kept; otherwise the copy from the first object in key order, so batch
-- boundaries never change which copy survives. The inner IN builds its hash table on the
-- batch's ids and probes spend_logs once. batch_duplicates stays (TEMP, replaced by the next
-- batch) for count_batch_duplicates.
CREATE OR REPLACE TEMP TABLE batch_duplicates AS
SELECT request_id FROM spend_logs
WHERE request_id IN (SELECT request_id FROM spend_logs WHERE source_key IN (SELECT "key" FROM batch_files))
GROUP BY request_id
HAVING count(*) > 1;

DELETE FROM spend_logs
WHERE rowid IN (
  SELECT rid FROM (
    SELECT rowid AS rid,
           row_number() OVER (
             PARTITION BY request_id
             ORDER BY source_key IN (SELECT "key" FROM batch_files), source_key,
                      end_ts, cost_usd NULLS LAST, total_tokens, status
           ) AS copy
    FROM spend_logs
    WHERE request_id IN (SELECT request_id FROM batch_duplicates)
  )
  WHERE copy > 1
);
