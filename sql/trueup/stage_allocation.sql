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
-- Pools are found once per distinct (day, provider, model), not per record, and costs stay
-- DECIMAL: converting every row to integer units costs more than the rest of the allocation, and
-- only the records of pools billed below their estimate need it (below).
CREATE OR REPLACE TEMP TABLE trueup_records AS
WITH r AS (
  SELECT s.rowid AS rid, s.ts::DATE AS bill_day, s.provider, coalesce(s.upstream_model, s.model) AS m,
    coalesce(s.cost_usd, 0) AS est, s.billed_usd AS old_billed
  FROM spend_logs s
  WHERE s.ts >= (SELECT min("day") FROM trueup_scope) AND s.ts < (SELECT max("day") FROM trueup_scope) + 1
    AND s.ts::DATE IN (SELECT "day" FROM trueup_scope)
),
kinds AS (SELECT DISTINCT bill_day, provider, m FROM r),
assigned AS (
  SELECT k.bill_day, k.provider, k.m, coalesce(pm.pool_id, pw.pool_id) AS pool_id
  FROM kinds k
  LEFT JOIN trueup_pool_bills pm ON pm."day" = k.bill_day AND pm.provider = k.provider AND pm.model_key = bill_model_key(k.m)
  LEFT JOIN trueup_pool_bills pw ON pw."day" = k.bill_day AND pw.provider = k.provider AND pw.model_key IS NULL
)
SELECT r.rid, r.est, r.old_billed, a.pool_id
FROM r JOIN assigned a ON a.bill_day = r.bill_day AND a.provider IS NOT DISTINCT FROM r.provider AND a.m IS NOT DISTINCT FROM r.m;

CREATE OR REPLACE TEMP TABLE trueup_pool_stats AS
SELECT b.*,
  (b.billed_usd * 10000000000)::HUGEINT AS billed_units,
  (coalesce(e.est_usd, 0) * 10000000000)::HUGEINT AS est_units,
  coalesce(e.requests, 0) AS requests,
  CASE WHEN coalesce(e.est_usd, 0) = 0 THEN 0
    ELSE least((b.billed_usd * 10000000000)::HUGEINT, (e.est_usd * 10000000000)::HUGEINT) END::HUGEINT AS alloc_units
FROM trueup_pool_bills b
LEFT JOIN (SELECT pool_id, sum(est) AS est_usd, count(*) AS requests FROM trueup_records WHERE pool_id IS NOT NULL GROUP BY pool_id) e
  USING (pool_id);

-- Each record's allocated share; NULL for records no pool covers. A pool billed at or above its
-- estimate gives each record its estimate as it is; a pool billed below it shares the bill
-- (ties between equal remainders go by row order).
CREATE OR REPLACE TEMP TABLE trueup_alloc AS
WITH j AS (
  SELECT r.rid, r.est, r.old_billed, r.pool_id, p.alloc_units, p.est_units
  FROM trueup_records r LEFT JOIN trueup_pool_stats p USING (pool_id)
),
scaled AS (
  SELECT rid, old_billed, pool_id, alloc_units, q, abs(alloc_units * e - q * est_units) AS rem
  FROM (
    SELECT *, (alloc_units * e) // est_units AS q
    FROM (SELECT *, (est * 10000000000)::HUGEINT AS e FROM j WHERE alloc_units <> est_units)
  )
),
remainders AS (
  SELECT pool_id, any_value(alloc_units) - sum(q) AS left_units FROM scaled GROUP BY pool_id
)
SELECT rid, old_billed, CASE WHEN pool_id IS NULL THEN NULL ELSE est::DECIMAL(18, 10) END AS billed_usd
FROM j WHERE pool_id IS NULL OR alloc_units = est_units
UNION ALL
SELECT s.rid, s.old_billed,
  ((s.q + CASE WHEN row_number() OVER (PARTITION BY s.pool_id ORDER BY s.rem DESC, s.rid) <= abs(m.left_units)
            THEN sign(m.left_units) ELSE 0 END)::DECIMAL(38, 0) * 0.0000000001::DECIMAL(38, 10))::DECIMAL(18, 10) AS billed_usd
FROM scaled s JOIN remainders m USING (pool_id);
