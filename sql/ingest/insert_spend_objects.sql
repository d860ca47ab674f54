-- Fast path: the batch's objects parsed straight into spend_logs. Strict: the first malformed
-- line or wrongly typed field fails the statement (DuckDB names the file), and so does a record
-- missing what every record must carry (the error() below names the file the same way).
-- {{source_keys}} maps each file to its object key (a map literal, not a join with batch_files:
-- the lookup keeps the reader's one value per file, where a join's output made the key a value
-- per row to compress again, 0.4-0.6 s at 5M records; a file missing from it would be a NULL
-- source_key, which the table refuses).
INSERT INTO spend_logs
SELECT
  CASE
    WHEN spend_record_problem(r."schema", r.request_id, r.ts) IS NULL THEN r.request_id
    ELSE error('unusable record in file "' || r.filename || '": ' || spend_record_problem(r."schema", r.request_id, r.ts))
  END,
  r.ts::TIMESTAMP, local_day(r.ts, $tz), r.end_ts::TIMESTAMP, r.latency_ms,
  r.instance, r.endpoint, r.model, r.provider, r.upstream_model, r.stream, r.status, r.outcome,
  r.prompt_tokens, r.completion_tokens, r.total_tokens, r.cached_tokens, r.cache_write_tokens,
  r.reasoning_tokens, r.cost_usd, r.price_ref,
  coalesce(r.tags, []::VARCHAR[]), r."user", coalesce(r.metadata, MAP {}::MAP(VARCHAR, VARCHAR)),
  r.key_alias, r.key_hash, r.error, r."schema",
  {{source_keys}}[r.filename], $loaded_at::TIMESTAMP, NULL, NULL, coalesce(r.cache_write_1h_tokens, 0)
FROM read_spend_records({{files}}) r;
