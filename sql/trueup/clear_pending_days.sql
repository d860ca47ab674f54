DELETE FROM trueup_pending_days WHERE "day" IN (SELECT "day" FROM trueup_batch);
