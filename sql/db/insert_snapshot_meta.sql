INSERT INTO snapshot_meta SELECT $published_at::TIMESTAMP, (SELECT max(ts) FROM spend_logs), $run_id;
