-- GET /global/spend/report?group_by=api_key (or ?api_key=, ?internal_user_id=): spend per key
-- and model over the period, exact sums; optionally only one key (hash or alias) or one user.
SELECT key_hash, key_alias, model,
  coalesce(sum(cost_usd), 0)::DECIMAL(38, 10) AS total_cost,
  coalesce(sum(prompt_tokens), 0)::BIGINT AS total_input_tokens,
  coalesce(sum(completion_tokens), 0)::BIGINT AS total_output_tokens
FROM spend_logs
WHERE "day" BETWEEN $from::DATE AND $to::DATE
  AND ($key::VARCHAR IS NULL OR key_hash = $key::VARCHAR OR key_alias = $key::VARCHAR)
  AND ($user::VARCHAR IS NULL OR "user" = $user::VARCHAR)
GROUP BY key_hash, key_alias, model
ORDER BY key_hash, key_alias, model;
