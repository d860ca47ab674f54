SELECT strftime("day", '%Y-%m-%d') AS "day" FROM parquet_gone ORDER BY "day";
