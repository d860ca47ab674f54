SELECT nextval('job_run_ids') AS run_id;
