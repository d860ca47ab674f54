INSERT INTO rejected_lines
SELECT f."key", r.line_number, r.raw, r.reason, $rejected_at::TIMESTAMP, $run_id
FROM staged_rejects r JOIN batch_files f ON r.filename = f.path;
