-- The (provider, day) pairs of the import whose lines differ from what is stored: only these are
-- replaced, so importing the same pages again changes nothing (not even imported_at).
CREATE OR REPLACE TEMP TABLE bill_changed_days AS
WITH imported AS (
  SELECT provider, "day"::DATE AS "day", line_key, model, description, amount_usd::DECIMAL(18, 10) AS amount_usd
  FROM bill_import
),
stored AS (
  SELECT b.provider, b."day", b.line_key, b.model, b.description, b.amount_usd
  FROM billed_costs b SEMI JOIN (SELECT DISTINCT provider, "day" FROM imported) k USING (provider, "day")
),
diff AS (
  (SELECT * FROM imported EXCEPT SELECT * FROM stored)
  UNION ALL
  (SELECT * FROM stored EXCEPT SELECT * FROM imported)
)
SELECT DISTINCT provider, "day" FROM diff;
