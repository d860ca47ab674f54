INSERT OR IGNORE INTO rollup_pending_days SELECT DISTINCT local_day(ts, $tz) FROM staged;
