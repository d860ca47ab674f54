-- Rebuilds every daily rollup for the days in rollup_pending_days, then clears them; reads the
-- scratch tables and the spend_measures macro sql/rollup/stage_rollup_inputs.sql built just
-- before (each reads only the columns spend_measures needs: a whole spend_logs row as its
-- argument costs ~2x). Run inside one transaction: readers of the file see the old or the new rollups,
-- never a mix. Every rollup is filled BY NAME with the measures of spend_measures, or with
-- their sums (`sum(COLUMNS(...))` keeps each measure's name).

DELETE FROM rollup_daily WHERE "day" IN (SELECT "day" FROM rollup_scope);
DELETE FROM rollup_daily_tag WHERE "day" IN (SELECT "day" FROM rollup_scope);
DELETE FROM rollup_daily_tag_key WHERE "day" IN (SELECT "day" FROM rollup_scope);
DELETE FROM rollup_daily_user WHERE "day" IN (SELECT "day" FROM rollup_scope);
DELETE FROM rollup_daily_metadata WHERE "day" IN (SELECT "day" FROM rollup_scope);
DELETE FROM rollup_daily_model WHERE "day" IN (SELECT "day" FROM rollup_scope);
DELETE FROM rollup_daily_key WHERE "day" IN (SELECT "day" FROM rollup_scope);

INSERT INTO rollup_daily BY NAME
SELECT "day", sum(COLUMNS(* EXCLUDE ("day", tags)))
FROM rollup_tag_sets GROUP BY "day";

-- Each request counts under each of its (distinct) tags; tag NULL holds the untagged requests.
INSERT INTO rollup_daily_tag BY NAME
SELECT "day", tag, sum(COLUMNS(* EXCLUDE ("day", tag)))
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
-- Built from rollup_daily_tag, where a request counts in full under each of its tags, corrected
-- only for the tag sets that repeat a key: each of their pairs adds its share minus the whole
-- (the sets and their pairs are rollup_tag_sets and rollup_tag_pairs). Counts (x 1e6) and tokens
-- are split in BIGINT arithmetic (an overflow would be an error, never a wrong sum); spend in
-- HUGEINT units, computed in BIGINT where they fit (below 4e8 USD per tag set and day: HUGEINT
-- division was a third of this statement's time).
CREATE OR REPLACE TEMP MACRO split_units(units, n, i) AS
  sign(units) * (abs(units) // n + CASE WHEN i <= abs(units) % n THEN 1 ELSE 0 END);
-- What a pair's share changes against counting the whole measure under the pair's value.
CREATE OR REPLACE TEMP MACRO split_change(units, n, i) AS split_units(units, n, i) - units;
CREATE OR REPLACE TEMP MACRO split_change_money(units, n, i) AS
  CASE WHEN units BETWEEN -4000000000000000000 AND 4000000000000000000
    THEN split_change(units::BIGINT, n, i)::HUGEINT
    ELSE split_change(units, n, i) END;
-- The measure classes of spend_measures, by name.
CREATE OR REPLACE TEMP MACRO is_pair_key(c) AS c IN ('set_id', 'day', 'tag', 'tags', 'tag_key', 'tag_value', 'n', 'i');
CREATE OR REPLACE TEMP MACRO is_token_measure(c) AS NOT is_pair_key(c) AND suffix(c, '_tokens');
CREATE OR REPLACE TEMP MACRO is_money_measure(c) AS NOT is_pair_key(c) AND suffix(c, '_usd');
CREATE OR REPLACE TEMP MACRO is_count_measure(c) AS NOT is_pair_key(c) AND NOT suffix(c, '_tokens') AND NOT suffix(c, '_usd');

INSERT INTO rollup_daily_tag_key BY NAME
WITH whole AS (
  SELECT "day", left(tag, strpos(tag, ':') - 1) AS tag_key, substring(tag, strpos(tag, ':') + 1) AS tag_value,
    COLUMNS(c -> NOT is_pair_key(c))
  FROM rollup_daily_tag
  WHERE "day" IN (SELECT "day" FROM rollup_scope) AND strpos(tag, ':') > 1
),
-- The pairs of tag sets that carry their key more than once: n values, this one i-th in order.
repeated AS (
  SELECT set_id, tag_key, tag_value,
    count(*) OVER (PARTITION BY set_id, tag_key) AS n,
    row_number() OVER (PARTITION BY set_id, tag_key ORDER BY tag_value) AS i
  FROM rollup_tag_pairs
  QUALIFY n > 1
),
-- Their tag sets' measures, money in 1e-10 USD units: converted once per set (a DECIMAL(38,10)
-- to HUGEINT cast is slow).
units AS (
  SELECT rowid AS set_id, "day",
    COLUMNS(c -> NOT is_pair_key(c) AND NOT is_money_measure(c)),
    (COLUMNS(c -> is_money_measure(c)) * 10000000000)::HUGEINT
  FROM rollup_tag_sets
  WHERE rowid IN (SELECT set_id FROM repeated)
),
ranked AS (
  SELECT * FROM repeated JOIN units USING (set_id)
),
change AS (
  SELECT "day", tag_key, tag_value,
    (sum(split_change(COLUMNS(c -> is_count_measure(c)) * 1000000, n, i))::DECIMAL(38, 0) * 0.000001::DECIMAL(38, 6))::DECIMAL(38, 6),
    sum(split_change(COLUMNS(c -> is_token_measure(c)), n, i))::BIGINT,
    (sum(split_change_money(COLUMNS(c -> is_money_measure(c)), n, i))::DECIMAL(38, 0) * 0.0000000001::DECIMAL(38, 10))::DECIMAL(38, 10)
  FROM ranked
  GROUP BY "day", tag_key, tag_value
)
SELECT "day", tag_key, tag_value, sum(COLUMNS(* EXCLUDE ("day", tag_key, tag_value)))
FROM (SELECT * FROM whole UNION ALL BY NAME SELECT * FROM change)
GROUP BY "day", tag_key, tag_value;

INSERT INTO rollup_daily_user BY NAME
SELECT "day", "user", unnest(spend_measures(r))
FROM (SELECT "day", "user", outcome, cost_usd, billed_usd, COLUMNS('_tokens$') FROM spend_logs WHERE "day" IN (SELECT "day" FROM rollup_scope)) r
GROUP BY "day", "user";

-- A request counts once under each metadata key it carries (one value per key).
INSERT INTO rollup_daily_metadata BY NAME
SELECT "day", e."key" AS meta_key, e."value" AS meta_value, unnest(spend_measures(r))
FROM (
  SELECT "day", outcome, cost_usd, billed_usd, COLUMNS('_tokens$'), unnest(map_entries(metadata)) AS e
  FROM spend_logs
  WHERE "day" IN (SELECT "day" FROM rollup_scope) AND cardinality(metadata) > 0
) r
GROUP BY "day", e."key", e."value";

INSERT INTO rollup_daily_model BY NAME
SELECT "day", provider, model, upstream_model, sum(COLUMNS(* EXCLUDE ("day", provider, model, upstream_model, key_alias)))
FROM rollup_model_keys GROUP BY "day", provider, model, upstream_model;

INSERT INTO rollup_daily_key BY NAME
SELECT "day", key_alias, sum(COLUMNS(* EXCLUDE ("day", provider, model, upstream_model, key_alias)))
FROM rollup_model_keys GROUP BY "day", key_alias;

DELETE FROM rollup_pending_days WHERE "day" IN (SELECT "day" FROM rollup_scope);
DROP TABLE rollup_model_keys;
DROP TABLE rollup_tag_pairs;
DROP TABLE rollup_tag_sets;
DROP TABLE rollup_scope;
