-- The current window [window_start, reset_at) of every budgeted tag, from the job's JSON list
-- ($windows: [{"tag", "window_start", "reset_at"}], ISO-8601 UTC), for select_budget_spend.
CREATE OR REPLACE TEMP TABLE budget_windows AS
SELECT w.tag AS tag, w.window_start::TIMESTAMP AS window_start, w.reset_at::TIMESTAMP AS reset_at
FROM (
  SELECT unnest(from_json($windows::JSON, '[{"tag":"VARCHAR","window_start":"VARCHAR","reset_at":"VARCHAR"}]')) AS w
);
