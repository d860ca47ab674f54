-- A request id is stored once. Among the copies of an id in batch_duplicates
-- (stage_batch_duplicates.sql), a row stored by an earlier batch (rowid <= $appended_after) is
-- kept; otherwise the copy from the first object in key order, so batch boundaries never change
-- which copy survives.
DELETE FROM spend_logs
WHERE rowid IN (
  SELECT rid FROM (
    SELECT rowid AS rid,
           row_number() OVER (
             PARTITION BY request_id
             ORDER BY rowid > $appended_after, source_key,
                      end_ts, cost_usd NULLS LAST, total_tokens, status
           ) AS copy
    FROM spend_logs
    WHERE request_id IN (SELECT request_id FROM batch_duplicates)
  )
  WHERE copy > 1
);
