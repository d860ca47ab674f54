-- The days of trueup_scope allocated together next (a batch: consecutive days, jobs/steps/trueup.ts).
CREATE OR REPLACE TEMP TABLE trueup_batch AS
SELECT "day" FROM trueup_scope WHERE "day" BETWEEN $from::DATE AND $to::DATE;
