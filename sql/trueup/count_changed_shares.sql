SELECT count(*) AS n FROM trueup_alloc WHERE billed_usd IS DISTINCT FROM old_billed;
