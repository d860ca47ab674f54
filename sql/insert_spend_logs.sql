-- The batch's rows, deduplicated, into spend_logs (inside the batch transaction).
INSERT INTO spend_logs
SELECT
  s.request_id, s.ts::TIMESTAMP, local_day(s.ts, $tz), s.end_ts::TIMESTAMP, s.latency_ms,
  s.instance, s.endpoint, s.model, s.provider, s.upstream_model, s.stream, s.status, s.outcome,
  s.prompt_tokens, s.completion_tokens, s.total_tokens, s.cached_tokens, s.cache_write_tokens,
  s.reasoning_tokens, s.cost_usd, s.price_ref,
  coalesce(s.tags, []::VARCHAR[]), s."user", coalesce(s.metadata, MAP {}::MAP(VARCHAR, VARCHAR)),
  s.key_alias, s.key_hash, s.error, s."schema",
  f."key", $loaded_at::TIMESTAMP, NULL
FROM staged s JOIN batch_files f ON s.filename = f.path;
