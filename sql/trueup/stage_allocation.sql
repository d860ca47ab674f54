-- The allocation of the bills of one batch of days (trueup_batch, filled just before) to their
-- records (docs/trueup.md); the pools come from sql/trueup/stage_pools.sql. TEMP tables only,
-- which DuckDB spills to its temp directory under memory_limit: sql/trueup/apply_allocation.sql
-- writes the results. A pool never spans two UTC days, so a batch's shares are exactly those
-- of an allocation of every day at once.
--
-- Money is in integer units of 1e-10 USD (the DECIMAL(18,10) precision) from here on.
-- Each pool gives its records min(billed, estimated) in proportion to their estimated cost:
-- when the bill is higher, every record gets exactly its estimate and the rest stays
-- unattributed; when it is lower, the records share the bill. Rounding remainders (whole units)
-- go to the records with the largest fractional parts, so the shares add up exactly.

-- The pool of each distinct (UTC day, provider, model) of the batch's records (NULL: no bill
-- covers it): found once per kind, not per record. A table of its own, not a CTE the records
-- query reads twice: at 5M records that CTE was materialised with an estimate of ~0 rows and the
-- join built its hash table on the 5M records, provider and model strings included (out of
-- memory under the default 1GB).
CREATE OR REPLACE TEMP TABLE trueup_kinds AS
SELECT k.bill_day, k.provider, k.m, coalesce(pm.pool_id, pw.pool_id) AS pool_id
FROM (
  SELECT DISTINCT s.ts::DATE AS bill_day, s.provider, coalesce(s.upstream_model, s.model) AS m
  FROM spend_logs s
  WHERE s.ts >= (SELECT min("day") FROM trueup_batch) AND s.ts < (SELECT max("day") FROM trueup_batch) + 1
    AND s.ts::DATE IN (SELECT "day" FROM trueup_batch)
) k
LEFT JOIN trueup_pool_bills pm ON pm."day" = k.bill_day AND pm.provider = k.provider AND pm.model_key = bill_model_key(k.m)
LEFT JOIN trueup_pool_bills pw ON pw."day" = k.bill_day AND pw.provider = k.provider AND pw.model_key IS NULL;

-- Every record of the batch's UTC days, with its pool, its local day (for the rollup) and its
-- current share. Costs stay DECIMAL: converting every row to integer units costs more than the
-- rest of the allocation, and only the records of pools billed below their estimate need it.
CREATE OR REPLACE TEMP TABLE trueup_records AS
SELECT s.rowid AS rid, s."day" AS local_day, coalesce(s.cost_usd, 0) AS est, s.billed_usd AS old_billed, k.pool_id
FROM spend_logs s
JOIN trueup_kinds k
  ON k.bill_day = s.ts::DATE AND k.provider IS NOT DISTINCT FROM s.provider AND k.m IS NOT DISTINCT FROM coalesce(s.upstream_model, s.model)
WHERE s.ts >= (SELECT min("day") FROM trueup_batch) AND s.ts < (SELECT max("day") FROM trueup_batch) + 1;

CREATE OR REPLACE TEMP TABLE trueup_pool_stats AS
SELECT b.*,
  (b.billed_usd * 10000000000)::HUGEINT AS billed_units,
  (coalesce(e.est_usd, 0) * 10000000000)::HUGEINT AS est_units,
  coalesce(e.requests, 0) AS requests,
  CASE WHEN coalesce(e.est_usd, 0) = 0 THEN 0
    ELSE least((b.billed_usd * 10000000000)::HUGEINT, (e.est_usd * 10000000000)::HUGEINT) END::HUGEINT AS alloc_units
FROM trueup_pool_bills b
LEFT JOIN (SELECT pool_id, sum(est) AS est_usd, count(*) AS requests FROM trueup_records WHERE pool_id IS NOT NULL GROUP BY pool_id) e
  USING (pool_id)
WHERE b."day" IN (SELECT "day" FROM trueup_batch);

-- The records whose share changed, with their new share (NULL for records no pool covers) and
-- the piece that writes them: pieces of at most $piece_rows rows, in rowid order. A pool billed
-- at or above its estimate gives each record its estimate as it is; a pool billed below it
-- shares the bill (ties between equal remainders go by row order).
CREATE OR REPLACE TEMP TABLE trueup_changes AS
WITH j AS (
  SELECT r.rid, r.local_day, r.est, r.old_billed, r.pool_id, p.alloc_units, p.est_units
  FROM trueup_records r LEFT JOIN trueup_pool_stats p USING (pool_id)
),
scaled AS (
  SELECT rid, local_day, old_billed, pool_id, alloc_units, q, abs(alloc_units * e - q * est_units) AS rem
  FROM (
    SELECT *, (alloc_units * e) // est_units AS q
    FROM (SELECT *, (est * 10000000000)::HUGEINT AS e FROM j WHERE alloc_units <> est_units)
  )
),
remainders AS (
  SELECT pool_id, any_value(alloc_units) - sum(q) AS left_units FROM scaled GROUP BY pool_id
),
shares AS (
  SELECT rid, local_day, old_billed, CASE WHEN pool_id IS NULL THEN NULL ELSE est::DECIMAL(18, 10) END AS billed_usd
  FROM j WHERE pool_id IS NULL OR alloc_units = est_units
  UNION ALL
  SELECT s.rid, s.local_day, s.old_billed,
    ((s.q + CASE WHEN row_number() OVER (PARTITION BY s.pool_id ORDER BY s.rem DESC, s.rid) <= abs(m.left_units)
              THEN sign(m.left_units) ELSE 0 END)::DECIMAL(38, 0) * 0.0000000001::DECIMAL(38, 10))::DECIMAL(18, 10) AS billed_usd
  FROM scaled s JOIN remainders m USING (pool_id)
)
SELECT rid, local_day, billed_usd, (row_number() OVER (ORDER BY rid) - 1) // $piece_rows AS piece
FROM shares
WHERE billed_usd IS DISTINCT FROM old_billed;
