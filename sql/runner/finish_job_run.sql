UPDATE job_runs
SET ended_at = $ended_at::TIMESTAMP, status = $status, objects = $objects, "rows" = $rows,
    duplicates = $duplicates, rejected = $rejected, repriced = $repriced, days = $days, billed = $billed, error = $error
WHERE run_id = $run_id;
