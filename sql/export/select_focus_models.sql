SELECT DISTINCT provider, model, upstream_model
FROM spend_logs
WHERE ts >= (SELECT from_day FROM focus_period) AND ts < (SELECT to_day FROM focus_period) + 1;
