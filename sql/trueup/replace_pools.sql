DELETE FROM trueup_pools WHERE "day" IN (SELECT "day" FROM trueup_batch);
