-- The batch's days as parsed: a day whose only new rows were duplicates is re-rolled for nothing,
-- which is harmless, and saves another scan of the batch's rows.
INSERT OR IGNORE INTO rollup_pending_days
SELECT DISTINCT "day" FROM batch_days;
