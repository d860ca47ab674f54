INSERT INTO ingested_objects ("key", etag, size, "rows", duplicates, rejected, loaded_at, run_id)
VALUES ($key, $etag, $size, $rows, $duplicates, $rejected, $loaded_at::TIMESTAMP, $run_id);
