INSERT OR REPLACE INTO jobs_state (name, value) VALUES ($name, $value);
