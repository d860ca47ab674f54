-- Parquet keeps the types: DECIMAL money and quantities, TIMESTAMP WITH TIME ZONE (UTC) periods,
-- JSON objects as strings (FOCUS key-value format).
COPY focus_rows TO {{file}} (FORMAT parquet, COMPRESSION zstd);
