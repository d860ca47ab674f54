-- The scratch inputs of sql/rollup/rebuild_rollups.sql (TEMP: never in the file, gone with the session):
-- the days to rebuild, the requests grouped by tag set, one row per (tag set, key:value tag), and
-- the requests grouped by provider, model and key.
-- Built in autocommit just before the rebuild's transaction, not inside it: DuckDB scans a temp
-- table created inside an open transaction on one thread only (measured on 5M records: the tag
-- rollups took twice as long). This process is the file's only writer, so nothing changes
-- between here and the rebuild, and a crash in between loses nothing (the days stay pending).

-- The rollup measures, defined once. Every rollup table has these columns after its dimensions
-- (the tables are filled BY NAME); `r` is a row of spend_logs or of a query over it. Adding a
-- measure: a migration adds the column to every rollup table, and a line here. The tag-key
-- split (rebuild_rollups.sql) treats measures by class: `*_tokens` whole tokens, `*_usd` money,
-- the rest request counts.
--   requests  every request
--   errors    outcome other than success
--   unpriced  cost unknown (cost_usd NULL; it counts 0 in spend_usd)
--   *_tokens  token counts by kind, NULL counting 0
--   spend_usd DECIMAL sum of cost_usd
--   billed_usd DECIMAL sum of billed_usd, the requests' shares of imported bills (docs/trueup.md)
CREATE OR REPLACE TEMP MACRO spend_measures(r) AS {
  requests: count(*),
  errors: count(*) FILTER (WHERE r.outcome IS DISTINCT FROM 'success'),
  unpriced: count(*) FILTER (WHERE r.cost_usd IS NULL),
  prompt_tokens: coalesce(sum(r.prompt_tokens), 0)::BIGINT,
  completion_tokens: coalesce(sum(r.completion_tokens), 0)::BIGINT,
  total_tokens: coalesce(sum(r.total_tokens), 0)::BIGINT,
  cached_tokens: coalesce(sum(r.cached_tokens), 0)::BIGINT,
  cache_write_tokens: coalesce(sum(r.cache_write_tokens), 0)::BIGINT,
  reasoning_tokens: coalesce(sum(r.reasoning_tokens), 0)::BIGINT,
  cache_write_1h_tokens: coalesce(sum(r.cache_write_1h_tokens), 0)::BIGINT,
  spend_usd: coalesce(sum(r.cost_usd), 0)::DECIMAL(38, 10),
  billed_usd: coalesce(sum(r.billed_usd), 0)::DECIMAL(38, 10)
};

CREATE OR REPLACE TEMP TABLE rollup_scope AS SELECT "day" FROM rollup_pending_days;

-- Requests grouped by their exact tag list: far fewer rows than requests, and the tag
-- rollups only touch these.
CREATE OR REPLACE TEMP TABLE rollup_tag_sets AS
SELECT "day", tags, unnest(spend_measures(r))
FROM (SELECT "day", tags, outcome, cost_usd, billed_usd, COLUMNS('_tokens$') FROM spend_logs WHERE "day" IN (SELECT "day" FROM rollup_scope)) r
GROUP BY "day", tags;

-- Tag pairs: `team:search` is key `team`, value `search` (split at the first ':'); set_id
-- identifies the tag set a pair came from (its measures stay in rollup_tag_sets).
CREATE OR REPLACE TEMP TABLE rollup_tag_pairs AS
SELECT set_id, left(tag, strpos(tag, ':') - 1) AS tag_key, substring(tag, strpos(tag, ':') + 1) AS tag_value
FROM (SELECT rowid AS set_id, unnest(list_distinct(tags)) AS tag FROM rollup_tag_sets)
WHERE strpos(tag, ':') > 1;

-- Requests grouped by provider, model and key together (a few hundred rows a day here): the
-- model and key rollups are both sums over it, so spend_logs is read once for the two.
CREATE OR REPLACE TEMP TABLE rollup_model_keys AS
SELECT "day", provider, model, upstream_model, key_alias, unnest(spend_measures(r))
FROM (
  SELECT "day", provider, model, upstream_model, key_alias, outcome, cost_usd, billed_usd, COLUMNS('_tokens$')
  FROM spend_logs WHERE "day" IN (SELECT "day" FROM rollup_scope)
) r
GROUP BY "day", provider, model, upstream_model, key_alias;
