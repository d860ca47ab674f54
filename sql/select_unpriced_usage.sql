-- The distinct (model, usage) combinations among rows whose cost was unknown when logged.
SELECT provider, model, upstream_model, prompt_tokens, completion_tokens, total_tokens,
  cached_tokens, cache_write_tokens, reasoning_tokens, count(*) AS requests
FROM spend_logs
WHERE cost_usd IS NULL
GROUP BY ALL;
