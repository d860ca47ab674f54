-- One page of spend records, newest first, with optional filters (a NULL parameter filters
-- nothing). Paged by a cursor (keyset): the (ts, request_id) of the last row of the previous
-- page. Ordered by the ts column itself (not its formatted text), so DuckDB keeps only the
-- newest rows as it scans (top-N), reads the newest row groups first and skips the rest by their
-- zone maps; the cursor bounds ts from above the same way.
SELECT request_id, strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ') AS ts, epoch_us(ts) AS ts_us,
  strftime("day", '%Y-%m-%d') AS "day", latency_ms, endpoint, model, provider, upstream_model, stream, status, outcome,
  prompt_tokens, completion_tokens, total_tokens, cached_tokens, cache_write_tokens, reasoning_tokens,
  cost_usd, price_ref, tags, "user", metadata, key_alias, key_hash, error
FROM spend_logs
WHERE "day" BETWEEN $from::DATE AND $to::DATE
  AND ($tag::VARCHAR IS NULL OR list_contains(tags, $tag::VARCHAR))
  AND ($user::VARCHAR IS NULL OR "user" = $user::VARCHAR)
  AND ($key::VARCHAR IS NULL OR key_alias = $key::VARCHAR)
  AND ($model::VARCHAR IS NULL OR model = $model::VARCHAR)
  AND ($outcome::VARCHAR IS NULL OR outcome = $outcome::VARCHAR)
  AND ($meta_key::VARCHAR IS NULL OR metadata[$meta_key::VARCHAR] = $meta_value::VARCHAR)
  AND ($before_us::BIGINT IS NULL
       OR spend_logs.ts < make_timestamp($before_us::BIGINT)
       OR (spend_logs.ts = make_timestamp($before_us::BIGINT) AND request_id < $before_id::VARCHAR))
ORDER BY spend_logs.ts DESC, request_id DESC
LIMIT $limit;
