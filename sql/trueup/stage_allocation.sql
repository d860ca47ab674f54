-- The allocation of the bills of the days in trueup_scope (filled just before) to their records
-- (docs/trueup.md). TEMP tables only: sql/trueup/apply_allocation.sql writes the results.
--
-- Pools: a bill line with a model bills the records of that model (provider x UTC day x model);
-- a line without one bills the provider's records of that day that no model line claims. Money
-- is in integer units of 1e-10 USD (the DECIMAL(18,10) precision) from here on.
-- Each pool gives its records min(billed, estimated) in proportion to their estimated cost:
-- when the bill is higher, every record gets exactly its estimate and the rest stays
-- unattributed; when it is lower, the records share the bill. Rounding remainders (whole units)
-- go to the records with the largest fractional parts, so the shares add up exactly.

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

-- Every record of the scope's UTC days, with the pool that bills it (NULL: no bill covers it).
CREATE OR REPLACE TEMP TABLE trueup_records AS
WITH r AS (
  SELECT s.rowid AS rid, s.request_id, s.ts::DATE AS bill_day, s.provider,
    bill_model_key(coalesce(s.upstream_model, s.model)) AS mkey,
    (coalesce(s.cost_usd, 0) * 10000000000)::BIGINT AS est,
    s.billed_usd AS old_billed
  FROM spend_logs s
  WHERE s.ts >= (SELECT min("day") FROM trueup_scope) AND s.ts < (SELECT max("day") FROM trueup_scope) + 1
    AND s.ts::DATE IN (SELECT "day" FROM trueup_scope)
)
SELECT r.*, coalesce(m.pool_id, w.pool_id) AS pool_id
FROM r
LEFT JOIN trueup_pool_bills m ON m."day" = r.bill_day AND m.provider = r.provider AND m.model_key = r.mkey
LEFT JOIN trueup_pool_bills w ON w."day" = r.bill_day AND w.provider = r.provider AND w.model_key IS NULL;

CREATE OR REPLACE TEMP TABLE trueup_pool_stats AS
SELECT b.*,
  (b.billed_usd * 10000000000)::HUGEINT AS billed_units,
  coalesce(e.est_units, 0)::HUGEINT AS est_units,
  coalesce(e.requests, 0) AS requests,
  CASE WHEN coalesce(e.est_units, 0) = 0 THEN 0 ELSE least((b.billed_usd * 10000000000)::HUGEINT, e.est_units) END::HUGEINT AS alloc_units
FROM trueup_pool_bills b
LEFT JOIN (SELECT pool_id, sum(est) AS est_units, count(*) AS requests FROM trueup_records WHERE pool_id IS NOT NULL GROUP BY pool_id) e
  USING (pool_id);

-- units: each record's allocated share; NULL for records no pool covers.
CREATE OR REPLACE TEMP TABLE trueup_alloc AS
WITH pooled AS (
  SELECT r.rid, r.request_id, r.est, r.pool_id, p.alloc_units, p.est_units
  FROM trueup_records r JOIN trueup_pool_stats p USING (pool_id)
),
scaled AS (
  SELECT rid, request_id, pool_id, alloc_units, q, abs(alloc_units * est - q * est_units) AS rem
  FROM (SELECT *, (alloc_units * est) // est_units AS q FROM pooled WHERE alloc_units <> est_units)
),
remainders AS (
  SELECT pool_id, any_value(alloc_units) - sum(q) AS left_units FROM scaled GROUP BY pool_id
),
shares AS (
  SELECT rid, est::HUGEINT AS units FROM pooled WHERE alloc_units = est_units
  UNION ALL
  SELECT s.rid,
    s.q + CASE WHEN row_number() OVER (PARTITION BY s.pool_id ORDER BY s.rem DESC, s.request_id) <= abs(m.left_units)
              THEN sign(m.left_units) ELSE 0 END AS units
  FROM scaled s JOIN remainders m USING (pool_id)
)
SELECT r.rid, r.old_billed,
  (sh.units::DECIMAL(38, 0) * 0.0000000001::DECIMAL(38, 10))::DECIMAL(18, 10) AS billed_usd
FROM trueup_records r LEFT JOIN shares sh USING (rid);
