INSERT INTO job_runs (run_id, job, "trigger", started_at, status, pid)
VALUES ($run_id, $job, $trigger, $started_at::TIMESTAMP, $status, $pid);
