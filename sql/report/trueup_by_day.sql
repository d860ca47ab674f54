-- True-up per UTC day and provider, for the providers with a bill in the period: the estimated
-- cost of their records that day, the billed cost, and what the allocation left unattributed.
-- Providers bill by UTC day, so records are grouped by the UTC date of ts here (not `day`).
WITH bills AS (
  SELECT "day", provider, sum(amount_usd)::DECIMAL(38, 10) AS billed_usd, count(*) AS lines
  FROM billed_costs WHERE "day" BETWEEN $from::DATE AND $to::DATE
  GROUP BY ALL
),
billed_providers AS (SELECT DISTINCT provider FROM billed_costs WHERE "day" BETWEEN $from::DATE AND $to::DATE),
estimates AS (
  SELECT ts::DATE AS "day", provider, coalesce(sum(cost_usd), 0)::DECIMAL(38, 10) AS estimated_usd,
    count(*) AS requests, count(*) FILTER (WHERE cost_usd IS NULL) AS unpriced
  FROM spend_logs
  WHERE ts >= $from::DATE AND ts < $to::DATE + 1 AND provider IN (SELECT provider FROM billed_providers)
  GROUP BY ALL
),
pools AS (
  SELECT "day", provider, sum(unattributed_usd)::DECIMAL(38, 10) AS unattributed_usd, max(allocated_at) AS allocated_at
  FROM trueup_pools WHERE "day" BETWEEN $from::DATE AND $to::DATE
  GROUP BY ALL
)
SELECT k."day"::VARCHAR AS "day", k.provider,
  coalesce(e.requests, 0) AS requests, coalesce(e.unpriced, 0) AS unpriced,
  coalesce(e.estimated_usd, 0)::DECIMAL(38, 10) AS estimated_usd,
  b.billed_usd,
  (b.billed_usd - coalesce(e.estimated_usd, 0))::DECIMAL(38, 10) AS difference_usd,
  p.unattributed_usd,
  p.allocated_at IS NOT NULL AS allocated
FROM (SELECT "day", provider FROM bills UNION SELECT "day", provider FROM estimates) k
LEFT JOIN bills b USING ("day", provider)
LEFT JOIN estimates e USING ("day", provider)
LEFT JOIN pools p USING ("day", provider)
ORDER BY k."day", k.provider;
