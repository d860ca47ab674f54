SELECT value FROM jobs_state WHERE name = $name;
