INSERT OR IGNORE INTO trueup_pending_days SELECT DISTINCT "day" FROM bill_changed_days;
