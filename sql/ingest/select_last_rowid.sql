-- The highest rowid of spend_logs before a batch's INSERT (-1 when empty). Rows a transaction
-- appends get rowids above every rowid the table had when it began, so `rowid > $appended_after`
-- picks out exactly the batch's own rows (DuckDB pushes the filter into the scan, which then
-- reads only the new row groups); the batch checks that the rows it finds this way are as many
-- as the INSERT reported.
SELECT coalesce(max(rowid), -1) AS last FROM spend_logs;
