SELECT count(*) AS days, count(DISTINCT "day") AS utc_days FROM bill_changed_days;
