INSERT INTO alerts_sent (
  tag, window_start, reset_at, threshold, spend_usd, max_budget_usd, status, attempts, error, sent_at, run_id,
  kind, subject_kind, subject
) VALUES (
  $tag, $window_start::TIMESTAMP, $reset_at::TIMESTAMP, $threshold,
  CAST($spend_usd AS DECIMAL(38, 10)), CAST($max_budget_usd AS DECIMAL(38, 10)),
  $status, $attempts, $error, $sent_at::TIMESTAMP, $run_id, $kind, $subject_kind, $subject
);
