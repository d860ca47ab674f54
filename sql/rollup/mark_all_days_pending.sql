DELETE FROM rollup_daily; DELETE FROM rollup_daily_tag; DELETE FROM rollup_daily_tag_key;
DELETE FROM rollup_daily_user; DELETE FROM rollup_daily_metadata; DELETE FROM rollup_daily_model;
DELETE FROM rollup_daily_key;
INSERT OR IGNORE INTO rollup_pending_days SELECT DISTINCT "day" FROM spend_logs;
