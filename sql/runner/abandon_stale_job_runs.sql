-- Runs still marked running when a new run holds the file died with their process.
UPDATE job_runs SET status = 'abandoned', ended_at = $now::TIMESTAMP,
  error = 'the process ended before the run finished'
WHERE status = 'running';
