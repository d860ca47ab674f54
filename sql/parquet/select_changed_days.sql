SELECT strftime("day", '%Y-%m-%d') AS "day", "rows" FROM parquet_changed ORDER BY "day";
