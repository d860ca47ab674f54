INSERT INTO budget_status (
  run_id, evaluated_at, tag, budget_duration, window_start, reset_at, spend_usd, max_budget_usd, blocked,
  watermark, subject_kind, subject, budget_source, soft_budget_usd
) VALUES (
  $run_id, $evaluated_at::TIMESTAMP, $tag, $budget_duration, $window_start::TIMESTAMP, $reset_at::TIMESTAMP,
  CAST($spend_usd AS DECIMAL(38, 10)), CAST($max_budget_usd AS DECIMAL(38, 10)), $blocked,
  CAST($watermark AS TIMESTAMP), $subject_kind, $subject, $budget_source, CAST($soft_budget_usd AS DECIMAL(38, 10))
);
