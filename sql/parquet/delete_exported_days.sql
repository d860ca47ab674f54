DELETE FROM parquet_exports WHERE "day" IN (SELECT "day" FROM parquet_changed) OR "day" IN (SELECT "day" FROM parquet_gone);
