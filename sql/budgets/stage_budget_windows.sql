-- The current window [window_start, reset_at) of every budget the job evaluates, from its JSON
-- list ($windows: [{"kind", "name", "window_start", "reset_at"}], ISO-8601 UTC), for the
-- select_*_spend queries. kind: tag, customer, key.
CREATE OR REPLACE TEMP TABLE budget_windows AS
SELECT w.kind AS kind, w.name AS name, w.window_start::TIMESTAMP AS window_start, w.reset_at::TIMESTAMP AS reset_at
FROM (
  SELECT unnest(from_json($windows::JSON, '[{"kind":"VARCHAR","name":"VARCHAR","window_start":"VARCHAR","reset_at":"VARCHAR"}]')) AS w
);
