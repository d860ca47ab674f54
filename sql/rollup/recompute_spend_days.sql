-- The configured timezone changed: every row's day is re-derived and every day re-rolled.
UPDATE spend_logs SET "day" = local_day(timezone('UTC', ts), $tz);
