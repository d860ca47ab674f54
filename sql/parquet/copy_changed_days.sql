-- The changed days' rows, one directory per day (dt=YYYY-MM-DD, the Hive layout Athena, Trino and
-- Spark read), every column of spend_logs as typed in DuckDB, ordered by time within a day so
-- row groups prune well on ts. {{dir}} is a scratch directory of the job run.
COPY (
  SELECT *, strftime("day", '%Y-%m-%d') AS dt
  FROM spend_logs
  WHERE "day" IN (SELECT "day" FROM parquet_changed)
  ORDER BY "day", ts, request_id
) TO {{dir}} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (dt), FILENAME_PATTERN 'part-{i}', OVERWRITE_OR_IGNORE);
