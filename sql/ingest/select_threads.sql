-- The writer's DuckDB threads (jobs.threads, or DuckDB's default: all cores): batches are planned
-- in multiples of them (jobs/steps/batches.ts).
SELECT current_setting('threads') AS threads;
