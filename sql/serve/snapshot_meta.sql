-- When the open snapshot was published and the newest record it holds (UTC, epoch ms).
SELECT epoch_ms(published_at) AS published_ms, epoch_ms(newest_record_ts) AS newest_record_ms, run_id
FROM snapshot_meta
ORDER BY published_at DESC
LIMIT 1;
