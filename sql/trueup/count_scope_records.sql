-- The records of each UTC day in trueup_scope (0 for a billed day without records): what
-- jobs/steps/trueup.ts groups into batches of days allocated together.
SELECT d."day"::VARCHAR AS "day", coalesce(c.records, 0) AS records
FROM trueup_scope d
LEFT JOIN (
  SELECT ts::DATE AS "day", count(*) AS records
  FROM spend_logs
  WHERE ts >= (SELECT min("day") FROM trueup_scope) AND ts < (SELECT max("day") FROM trueup_scope) + 1
  GROUP BY ALL
) c USING ("day")
ORDER BY d."day";
