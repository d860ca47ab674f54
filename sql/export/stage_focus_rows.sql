-- FOCUS 1.2 rows for the period in focus_period (docs/focus.md), into the TEMP table focus_rows:
-- one row per UTC day x API key x model x tag set x token type, plus, on the billed basis, one
-- Adjustment row per allocation pool whose bill the records do not account for (unattributed).
-- Token types split the prompt and completion as costOf prices them (src/spend/pricing.ts):
-- input = prompt - cached - cache writes, output = completion - reasoning. A group's cost (its
-- estimate, or its share of the bills) is split over its token types by their list cost, in
-- whole 1e-10 USD units, remainders to the largest fractions, so the rows add up exactly.

-- A tag set as a FOCUS Tags object: `team:search` is {"team": "search"} (split at the first ':'),
-- a tag without a key (`experiment`, `:x`) is {"experiment": true} (FOCUS: valueless keys are
-- true); when a key appears twice the first value in the request's tag order is kept.
CREATE OR REPLACE TEMP TABLE focus_tag_sets AS
SELECT tags,
  CASE WHEN len(tags) = 0 THEN NULL ELSE (
    SELECT to_json(map_from_entries(list({'k': k, 'v': v} ORDER BY i)))::VARCHAR
    FROM (
      SELECT k, arg_min(v, i) AS v, min(i) AS i
      FROM (
        SELECT CASE WHEN strpos(t, ':') > 1 THEN left(t, strpos(t, ':') - 1) ELSE t END AS k,
          CASE WHEN strpos(t, ':') > 1 THEN to_json(substring(t, strpos(t, ':') + 1)) ELSE 'true'::JSON END AS v,
          i
        FROM (SELECT unnest(tags) AS t, unnest(range(1, len(tags) + 1)) AS i)
      )
      GROUP BY k
    )
  ) END AS tags_json
FROM (
  SELECT DISTINCT tags FROM spend_logs
  WHERE ts >= (SELECT from_day FROM focus_period) AND ts < (SELECT to_day FROM focus_period) + 1
);

CREATE OR REPLACE TEMP TABLE focus_groups AS
SELECT row_number() OVER () AS group_id, *
FROM (
  SELECT ts::DATE AS charge_day, provider, model, upstream_model, key_alias, tags,
    count(*) AS requests,
    sum(p - c - w)::BIGINT AS input_tokens, sum(c)::BIGINT AS cached_tokens, sum(w)::BIGINT AS cache_write_tokens,
    sum(o - r)::BIGINT AS output_tokens, sum(r)::BIGINT AS reasoning_tokens,
    (coalesce(sum(cost_usd), 0) * 10000000000)::HUGEINT AS estimated_units,
    (coalesce(sum(billed_usd), 0) * 10000000000)::HUGEINT AS billed_units
  FROM (
    SELECT * EXCLUDE (cache_write_tokens), least(greatest(coalesce(cache_write_tokens, 0), 0), p - c) AS w
    FROM (
      SELECT ts, provider, model, upstream_model, key_alias, tags, cost_usd, billed_usd, cache_write_tokens,
        greatest(coalesce(prompt_tokens, 0), 0) AS p, greatest(coalesce(completion_tokens, 0), 0) AS o,
        least(greatest(coalesce(cached_tokens, 0), 0), greatest(coalesce(prompt_tokens, 0), 0)) AS c,
        least(greatest(coalesce(reasoning_tokens, 0), 0), greatest(coalesce(completion_tokens, 0), 0)) AS r
      FROM spend_logs
      WHERE ts >= (SELECT from_day FROM focus_period) AND ts < (SELECT to_day FROM focus_period) + 1
    )
  )
  GROUP BY ALL
);

-- One row per group and token type with tokens, or one `Requests` row for a group that has a
-- cost but no tokens at all.
CREATE OR REPLACE TEMP TABLE focus_meters AS
WITH m AS (
  SELECT g.group_id, u.meter, u.ord, u.tokens, u.price_key
  FROM focus_groups g,
    LATERAL (VALUES
      ('Input Tokens', 1, g.input_tokens, 'input'),
      ('Cached Input Tokens', 2, g.cached_tokens, 'cached_input'),
      ('Cache Write Tokens', 3, g.cache_write_tokens, 'cache_write'),
      ('Output Tokens', 4, g.output_tokens, 'output'),
      ('Reasoning Tokens', 5, g.reasoning_tokens, 'reasoning')
    ) AS u(meter, ord, tokens, price_key)
  WHERE u.tokens > 0
  UNION ALL
  SELECT g.group_id, 'Requests', 6, g.requests, NULL
  FROM focus_groups g
  WHERE g.input_tokens + g.cached_tokens + g.cache_write_tokens + g.output_tokens + g.reasoning_tokens = 0
    AND (g.estimated_units <> 0 OR g.billed_units <> 0)
),
priced AS (
  SELECT m.*, fp.price_ref,
    CASE m.price_key WHEN 'input' THEN fp.input WHEN 'cached_input' THEN fp.cached_input WHEN 'cache_write' THEN fp.cache_write
      WHEN 'output' THEN fp.output WHEN 'reasoning' THEN fp.reasoning END::DECIMAL(38, 10) AS unit_price
  FROM m JOIN focus_groups g USING (group_id)
  LEFT JOIN focus_prices fp ON fp.provider IS NOT DISTINCT FROM g.provider AND fp.model IS NOT DISTINCT FROM g.model
    AND fp.upstream_model IS NOT DISTINCT FROM g.upstream_model
)
SELECT *,
  -- List cost = unit price (USD per 1M) x tokens / 1M, exact at 16 decimals.
  CASE WHEN unit_price IS NULL THEN NULL
    ELSE (tokens::DECIMAL(38, 0) * unit_price * 0.000001::DECIMAL(38, 6))::DECIMAL(38, 16) END AS list_cost,
  -- Split weight: the list cost in 1e-16 units, or the tokens when the group has no list price.
  coalesce((tokens::DECIMAL(38, 0) * unit_price * 0.000001::DECIMAL(38, 6) * 10000000000000000)::HUGEINT, 0) AS price_weight,
  tokens::HUGEINT AS token_weight
FROM priced;

CREATE OR REPLACE TEMP TABLE focus_split AS
WITH w AS (
  SELECT fm.group_id, fm.meter,
    CASE WHEN sum(fm.price_weight) OVER (PARTITION BY fm.group_id) > 0 THEN fm.price_weight ELSE fm.token_weight END AS weight
  FROM focus_meters fm
),
t AS (
  SELECT w.*, sum(weight) OVER (PARTITION BY group_id) AS total,
    CASE WHEN (SELECT billed FROM focus_period) THEN g.billed_units ELSE g.estimated_units END AS cost_units,
    g.estimated_units
  FROM w JOIN focus_groups g USING (group_id)
),
q AS (
  SELECT *,
    CASE WHEN total = 0 THEN 0 ELSE (cost_units * weight) // total END AS cq,
    CASE WHEN total = 0 THEN 0 ELSE abs(cost_units * weight - ((cost_units * weight) // total) * total) END AS crem,
    CASE WHEN total = 0 THEN 0 ELSE (estimated_units * weight) // total END AS eq,
    CASE WHEN total = 0 THEN 0 ELSE abs(estimated_units * weight - ((estimated_units * weight) // total) * total) END AS erem
  FROM t
),
r AS (
  SELECT *,
    cost_units - sum(cq) OVER (PARTITION BY group_id) AS cleft,
    estimated_units - sum(eq) OVER (PARTITION BY group_id) AS eleft,
    row_number() OVER (PARTITION BY group_id ORDER BY crem DESC, meter) AS ci,
    row_number() OVER (PARTITION BY group_id ORDER BY erem DESC, meter) AS ei
  FROM q
)
SELECT group_id, meter,
  cq + CASE WHEN ci <= abs(cleft) THEN sign(cleft) ELSE 0 END AS cost_units,
  eq + CASE WHEN ei <= abs(eleft) THEN sign(eleft) ELSE 0 END AS estimated_units
FROM r;

CREATE OR REPLACE TEMP MACRO focus_usd(units) AS (units::DECIMAL(38, 0) * 0.0000000001::DECIMAL(38, 10))::DECIMAL(38, 10);
CREATE OR REPLACE TEMP MACRO focus_ts(d) AS timezone('UTC', d::TIMESTAMP);

CREATE OR REPLACE TEMP TABLE focus_rows AS
SELECT * EXCLUDE (sort_day, sort_meter) FROM (
  SELECT
    focus_usd(s.cost_units) AS BilledCost,
    coalesce(g.provider, '(unknown)') AS BillingAccountId,
    NULL::VARCHAR AS BillingAccountName,
    'USD' AS BillingCurrency,
    focus_ts(date_trunc('month', g.charge_day) + INTERVAL 1 MONTH) AS BillingPeriodEnd,
    focus_ts(date_trunc('month', g.charge_day)) AS BillingPeriodStart,
    'Usage' AS ChargeCategory,
    NULL::VARCHAR AS ChargeClass,
    m.meter || ' of ' || coalesce(g.upstream_model, g.model, '(unknown model)') || ' via tagspend' AS ChargeDescription,
    'Usage-Based' AS ChargeFrequency,
    focus_ts(g.charge_day + 1) AS ChargePeriodEnd,
    focus_ts(g.charge_day) AS ChargePeriodStart,
    m.tokens::DECIMAL(38, 0) AS ConsumedQuantity,
    CASE WHEN m.meter = 'Requests' THEN 'Requests' ELSE 'Tokens' END AS ConsumedUnit,
    focus_usd(s.cost_units) AS ContractedCost,
    focus_usd(s.cost_units) AS EffectiveCost,
    coalesce(g.provider, '(unknown)') AS InvoiceIssuerName,
    coalesce(m.list_cost, focus_usd(s.cost_units))::DECIMAL(38, 16) AS ListCost,
    m.unit_price AS ListUnitPrice,
    'Standard' AS PricingCategory,
    CASE WHEN m.meter = 'Requests' THEN m.tokens::DECIMAL(38, 6) ELSE (m.tokens::DECIMAL(38, 0) * 0.000001::DECIMAL(38, 6))::DECIMAL(38, 6) END AS PricingQuantity,
    CASE WHEN m.meter = 'Requests' THEN 'Requests' ELSE '1000000 Tokens' END AS PricingUnit,
    coalesce(g.provider, '(unknown)') AS ProviderName,
    coalesce(g.provider, '(unknown)') AS PublisherName,
    'AI and Machine Learning' AS ServiceCategory,
    coalesce(g.provider, '(unknown)') || ' API' AS ServiceName,
    'Generative AI' AS ServiceSubcategory,
    coalesce(g.provider, '(unknown)') || '/' || coalesce(g.upstream_model, g.model, '(unknown)') AS SkuId,
    m.meter AS SkuMeter,
    CASE WHEN m.price_ref IS NULL THEN NULL
      ELSE to_json({x_TokenType: m.meter, x_PriceTable: m.price_ref})::VARCHAR END AS SkuPriceDetails,
    coalesce(g.provider, '(unknown)') || '/' || coalesce(g.upstream_model, g.model, '(unknown)') || ':' || m.meter || coalesce('@' || m.price_ref, '') AS SkuPriceId,
    ts.tags_json AS Tags,
    CASE WHEN (SELECT billed FROM focus_period) THEN 'billed' ELSE 'estimated' END AS x_CostBasis,
    focus_usd(s.estimated_units) AS x_EstimatedCost,
    g.key_alias AS x_ApiKeyAlias,
    g.model AS x_Model,
    g.upstream_model AS x_UpstreamModel,
    to_json(g.tags)::VARCHAR AS x_TagList,
    g.charge_day AS sort_day, m.ord AS sort_meter
  FROM focus_meters m
  JOIN focus_groups g USING (group_id)
  JOIN focus_split s ON s.group_id = m.group_id AND s.meter = m.meter
  LEFT JOIN focus_tag_sets ts ON ts.tags = g.tags
  UNION ALL BY NAME
  SELECT
    p.unattributed_usd AS BilledCost,
    p.provider AS BillingAccountId,
    NULL::VARCHAR AS BillingAccountName,
    'USD' AS BillingCurrency,
    focus_ts(date_trunc('month', p."day") + INTERVAL 1 MONTH) AS BillingPeriodEnd,
    focus_ts(date_trunc('month', p."day")) AS BillingPeriodStart,
    'Adjustment' AS ChargeCategory,
    NULL::VARCHAR AS ChargeClass,
    'Billed by ' || p.provider || coalesce(' for ' || p.model_key, '') || ' and not accounted for by gateway records (unattributed)' AS ChargeDescription,
    'Usage-Based' AS ChargeFrequency,
    focus_ts(p."day" + 1) AS ChargePeriodEnd,
    focus_ts(p."day") AS ChargePeriodStart,
    NULL::DECIMAL(38, 0) AS ConsumedQuantity,
    NULL::VARCHAR AS ConsumedUnit,
    p.unattributed_usd AS ContractedCost,
    p.unattributed_usd AS EffectiveCost,
    p.provider AS InvoiceIssuerName,
    p.unattributed_usd::DECIMAL(38, 16) AS ListCost,
    NULL::DECIMAL(38, 10) AS ListUnitPrice,
    NULL::VARCHAR AS PricingCategory,
    NULL::DECIMAL(38, 6) AS PricingQuantity,
    NULL::VARCHAR AS PricingUnit,
    p.provider AS ProviderName,
    p.provider AS PublisherName,
    'AI and Machine Learning' AS ServiceCategory,
    p.provider || ' API' AS ServiceName,
    'Generative AI' AS ServiceSubcategory,
    NULL::VARCHAR AS SkuId,
    NULL::VARCHAR AS SkuMeter,
    NULL::VARCHAR AS SkuPriceDetails,
    NULL::VARCHAR AS SkuPriceId,
    NULL::VARCHAR AS Tags,
    'billed' AS x_CostBasis,
    0::DECIMAL(38, 10) AS x_EstimatedCost,
    NULL::VARCHAR AS x_ApiKeyAlias,
    p.model_key AS x_Model,
    NULL::VARCHAR AS x_UpstreamModel,
    NULL::VARCHAR AS x_TagList,
    p."day" AS sort_day, 9 AS sort_meter
  FROM trueup_pools p
  WHERE (SELECT billed FROM focus_period) AND p.unattributed_usd <> 0
    AND p."day" BETWEEN (SELECT from_day FROM focus_period) AND (SELECT to_day FROM focus_period)
)
ORDER BY sort_day, ProviderName, x_ApiKeyAlias NULLS LAST, SkuId NULLS LAST, Tags NULLS FIRST, x_TagList, sort_meter;
