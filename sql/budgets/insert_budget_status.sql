INSERT INTO budget_status VALUES (
  $run_id, $evaluated_at::TIMESTAMP, $tag, $budget_duration, $window_start::TIMESTAMP, $reset_at::TIMESTAMP,
  CAST($spend_usd AS DECIMAL(38, 10)), CAST($max_budget_usd AS DECIMAL(38, 10)), $blocked,
  CAST($watermark AS TIMESTAMP)
);
