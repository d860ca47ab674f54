-- Rebuilds every daily rollup for the days in rollup_pending_days, then clears them; reads the
-- scratch tables sql/rollup/stage_rollup_inputs.sql built just before.
-- Run inside one transaction: readers of the file see the old or the new rollups, never a mix.
-- Measures (same in every rollup): requests, errors (outcome other than success), unpriced
-- (cost unknown), tokens by kind, spend_usd (DECIMAL sum of cost_usd; unknown cost counts 0).

DELETE FROM rollup_daily WHERE "day" IN (SELECT "day" FROM rollup_scope);
DELETE FROM rollup_daily_tag WHERE "day" IN (SELECT "day" FROM rollup_scope);
DELETE FROM rollup_daily_tag_key WHERE "day" IN (SELECT "day" FROM rollup_scope);
DELETE FROM rollup_daily_user WHERE "day" IN (SELECT "day" FROM rollup_scope);
DELETE FROM rollup_daily_metadata WHERE "day" IN (SELECT "day" FROM rollup_scope);
DELETE FROM rollup_daily_model WHERE "day" IN (SELECT "day" FROM rollup_scope);
DELETE FROM rollup_daily_key WHERE "day" IN (SELECT "day" FROM rollup_scope);

INSERT INTO rollup_daily
SELECT "day", sum(requests), sum(errors), sum(unpriced), sum(prompt_tokens), sum(completion_tokens),
  sum(total_tokens), sum(cached_tokens), sum(cache_write_tokens), sum(reasoning_tokens), sum(spend_usd)
FROM rollup_tag_sets GROUP BY "day";

-- Each request counts under each of its (distinct) tags; tag NULL holds the untagged requests.
INSERT INTO rollup_daily_tag
SELECT "day", tag, sum(requests), sum(errors), sum(unpriced), sum(prompt_tokens), sum(completion_tokens),
  sum(total_tokens), sum(cached_tokens), sum(cache_write_tokens), sum(reasoning_tokens), sum(spend_usd)
FROM (
  SELECT * EXCLUDE (tags), unnest(list_distinct(tags)) AS tag FROM rollup_tag_sets WHERE len(tags) > 0
  UNION ALL
  SELECT * EXCLUDE (tags), NULL AS tag FROM rollup_tag_sets WHERE len(tags) = 0
)
GROUP BY "day", tag;

-- Tag keys: `team:search` is key `team`, value `search` (split at the first ':'). A request with
-- several values of one key is split evenly between them; every measure is split in whole units
-- of its column's precision (1e-6 requests, 1 token, 1e-10 USD) and the remainder units go to
-- the values first in sort order, so the values of a key add up exactly to the tagged total.
-- Counts (x 1e6) and tokens are split in BIGINT arithmetic (HUGEINT division was most of this
-- statement's time; an overflow would be an error, never a wrong sum), spend in HUGEINT units.
CREATE OR REPLACE TEMP MACRO split_units(units, n, i) AS
  sign(units) * (abs(units) // n + CASE WHEN i <= abs(units) % n THEN 1 ELSE 0 END);

INSERT INTO rollup_daily_tag_key
WITH pairs AS (SELECT * FROM rollup_tag_pairs),
-- Only sets that carry a key more than once need the split; the rest keep their whole measures.
repeated AS (
  SELECT set_id, tag_key, count(*) AS n FROM pairs GROUP BY set_id, tag_key HAVING count(*) > 1
),
whole AS (
  SELECT "day", tag_key, tag_value,
    sum(requests)::DECIMAL(38, 6) AS requests, sum(errors)::DECIMAL(38, 6) AS errors, sum(unpriced)::DECIMAL(38, 6) AS unpriced,
    sum(prompt_tokens)::BIGINT AS prompt_tokens, sum(completion_tokens)::BIGINT AS completion_tokens,
    sum(total_tokens)::BIGINT AS total_tokens, sum(cached_tokens)::BIGINT AS cached_tokens,
    sum(cache_write_tokens)::BIGINT AS cache_write_tokens, sum(reasoning_tokens)::BIGINT AS reasoning_tokens,
    sum(spend_usd)::DECIMAL(38, 10) AS spend_usd
  FROM pairs p ANTI JOIN repeated r USING (set_id, tag_key)
  GROUP BY "day", tag_key, tag_value
),
ranked AS (
  -- Spend in 1e-10 USD units, converted once per pair (a DECIMAL(38,10) to HUGEINT cast is slow).
  SELECT p.*, (p.spend_usd * 10000000000)::HUGEINT AS spend_units, r.n,
    row_number() OVER (PARTITION BY p.set_id, p.tag_key ORDER BY p.tag_value) AS i
  FROM pairs p JOIN repeated r USING (set_id, tag_key)
),
split AS (
  SELECT "day", tag_key, tag_value,
    (sum(split_units(requests * 1000000, n, i))::DECIMAL(38, 0) * 0.000001::DECIMAL(38, 6))::DECIMAL(38, 6) AS requests,
    (sum(split_units(errors * 1000000, n, i))::DECIMAL(38, 0) * 0.000001::DECIMAL(38, 6))::DECIMAL(38, 6) AS errors,
    (sum(split_units(unpriced * 1000000, n, i))::DECIMAL(38, 0) * 0.000001::DECIMAL(38, 6))::DECIMAL(38, 6) AS unpriced,
    sum(split_units(prompt_tokens, n, i))::BIGINT AS prompt_tokens,
    sum(split_units(completion_tokens, n, i))::BIGINT AS completion_tokens,
    sum(split_units(total_tokens, n, i))::BIGINT AS total_tokens,
    sum(split_units(cached_tokens, n, i))::BIGINT AS cached_tokens,
    sum(split_units(cache_write_tokens, n, i))::BIGINT AS cache_write_tokens,
    sum(split_units(reasoning_tokens, n, i))::BIGINT AS reasoning_tokens,
    (sum(split_units(spend_units, n, i))::DECIMAL(38, 0) * 0.0000000001::DECIMAL(38, 10))::DECIMAL(38, 10) AS spend_usd
  FROM ranked
  GROUP BY "day", tag_key, tag_value
)
SELECT "day", tag_key, tag_value, sum(requests), sum(errors), sum(unpriced), sum(prompt_tokens), sum(completion_tokens),
  sum(total_tokens), sum(cached_tokens), sum(cache_write_tokens), sum(reasoning_tokens), sum(spend_usd)
FROM (SELECT * FROM whole UNION ALL SELECT * FROM split)
GROUP BY "day", tag_key, tag_value;

INSERT INTO rollup_daily_user
SELECT "day", "user",
  count(*), count(*) FILTER (WHERE outcome IS DISTINCT FROM 'success'), count(*) FILTER (WHERE cost_usd IS NULL),
  coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0), coalesce(sum(total_tokens), 0),
  coalesce(sum(cached_tokens), 0), coalesce(sum(cache_write_tokens), 0), coalesce(sum(reasoning_tokens), 0),
  coalesce(sum(cost_usd), 0)
FROM spend_logs
WHERE "day" IN (SELECT "day" FROM rollup_scope)
GROUP BY "day", "user";

-- A request counts once under each metadata key it carries (one value per key).
INSERT INTO rollup_daily_metadata
SELECT "day", e."key", e."value",
  count(*), count(*) FILTER (WHERE outcome IS DISTINCT FROM 'success'), count(*) FILTER (WHERE cost_usd IS NULL),
  coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0), coalesce(sum(total_tokens), 0),
  coalesce(sum(cached_tokens), 0), coalesce(sum(cache_write_tokens), 0), coalesce(sum(reasoning_tokens), 0),
  coalesce(sum(cost_usd), 0)
FROM (
  SELECT * EXCLUDE (metadata), unnest(map_entries(metadata)) AS e
  FROM spend_logs
  WHERE "day" IN (SELECT "day" FROM rollup_scope) AND cardinality(metadata) > 0
)
GROUP BY "day", e."key", e."value";

INSERT INTO rollup_daily_model
SELECT "day", provider, model, upstream_model,
  count(*), count(*) FILTER (WHERE outcome IS DISTINCT FROM 'success'), count(*) FILTER (WHERE cost_usd IS NULL),
  coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0), coalesce(sum(total_tokens), 0),
  coalesce(sum(cached_tokens), 0), coalesce(sum(cache_write_tokens), 0), coalesce(sum(reasoning_tokens), 0),
  coalesce(sum(cost_usd), 0)
FROM spend_logs
WHERE "day" IN (SELECT "day" FROM rollup_scope)
GROUP BY "day", provider, model, upstream_model;

INSERT INTO rollup_daily_key
SELECT "day", key_alias,
  count(*), count(*) FILTER (WHERE outcome IS DISTINCT FROM 'success'), count(*) FILTER (WHERE cost_usd IS NULL),
  coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0), coalesce(sum(total_tokens), 0),
  coalesce(sum(cached_tokens), 0), coalesce(sum(cache_write_tokens), 0), coalesce(sum(reasoning_tokens), 0),
  coalesce(sum(cost_usd), 0)
FROM spend_logs
WHERE "day" IN (SELECT "day" FROM rollup_scope)
GROUP BY "day", key_alias;

DELETE FROM rollup_pending_days WHERE "day" IN (SELECT "day" FROM rollup_scope);
DROP TABLE rollup_tag_pairs;
DROP TABLE rollup_tag_sets;
DROP TABLE rollup_scope;
