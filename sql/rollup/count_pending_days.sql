SELECT count(*) AS n FROM rollup_pending_days;
