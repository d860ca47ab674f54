-- A scheduled run that did not start because another run was still going.
INSERT INTO job_runs (run_id, job, "trigger", started_at, ended_at, status, error, pid)
VALUES (nextval('job_run_ids'), $job, 'schedule', $at::TIMESTAMP, $at::TIMESTAMP, 'skipped', $reason, $pid);
