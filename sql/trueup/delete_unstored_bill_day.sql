-- A day's lines are in the store now: no longer pending.
DELETE FROM bill_unstored_days WHERE provider = $provider AND "day" = $day::DATE;
