SELECT published_at::VARCHAR AS published_at, newest_record_ts::VARCHAR AS newest_record_ts, run_id
FROM snapshot_meta ORDER BY published_at DESC LIMIT 1;
