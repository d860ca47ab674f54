-- The pools of the bills of the days in trueup_scope (filled just before), numbered once per run.
-- TEMP only, like the rest of the allocation (sql/trueup/stage_allocation.sql).
--
-- Pools: a bill line with a model bills the records of that model (provider x UTC day x model);
-- a line without one bills the provider's records of that day that no model line claims.

-- A model name as bill lines and records are matched on: no `provider/` prefix, lower case,
-- no date or -latest suffix (`openai/gpt-5-2025-08-07` and `gpt-5` match).
CREATE OR REPLACE TEMP MACRO bill_model_key(m) AS
  nullif(regexp_replace(lower(trim(regexp_replace(m, '^.*/', ''))),
    '(-20[0-9]{2}-[0-9]{2}-[0-9]{2}|-20[0-9]{6}|@20[0-9]{6}|-[0-9]{2}-[0-9]{2}|-latest)$', ''), '');

CREATE OR REPLACE TEMP TABLE trueup_pool_bills AS
SELECT row_number() OVER (ORDER BY "day", provider, model_key NULLS FIRST) AS pool_id, *
FROM (
  SELECT "day", provider, bill_model_key(model) AS model_key, sum(amount_usd)::DECIMAL(38, 10) AS billed_usd
  FROM billed_costs
  WHERE "day" IN (SELECT "day" FROM trueup_scope)
  GROUP BY ALL
);
