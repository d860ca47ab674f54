-- Whether the file has the migrations table (files made before migrations existed do not).
SELECT count(*) AS n FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' AND table_name = 'schema_migrations';
