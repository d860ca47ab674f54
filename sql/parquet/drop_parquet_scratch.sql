DROP TABLE IF EXISTS parquet_days; DROP TABLE IF EXISTS parquet_changed; DROP TABLE IF EXISTS parquet_gone;
DROP TABLE IF EXISTS parquet_files;
