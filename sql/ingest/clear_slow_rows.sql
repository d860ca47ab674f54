DELETE FROM slow_rows;
