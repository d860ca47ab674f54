-- The scratch inputs of sql/rollup/rebuild_rollups.sql (TEMP: never in the file, gone with the session):
-- the days to rebuild, the requests grouped by tag set, and one row per (tag set, tag).
-- Built in autocommit just before the rebuild's transaction, not inside it: DuckDB scans a temp
-- table created inside an open transaction on one thread only (measured on 5M records: the tag
-- rollups took twice as long). This process is the file's only writer, so nothing changes
-- between here and the rebuild, and a crash in between loses nothing (the days stay pending).

CREATE OR REPLACE TEMP TABLE rollup_scope AS SELECT "day" FROM rollup_pending_days;

-- Requests grouped by their exact tag list: far fewer rows than requests, and the tag
-- rollups only touch these.
CREATE OR REPLACE TEMP TABLE rollup_tag_sets AS
SELECT "day", tags,
  count(*) AS requests,
  count(*) FILTER (WHERE outcome IS DISTINCT FROM 'success') AS errors,
  count(*) FILTER (WHERE cost_usd IS NULL) AS unpriced,
  coalesce(sum(prompt_tokens), 0)::BIGINT AS prompt_tokens,
  coalesce(sum(completion_tokens), 0)::BIGINT AS completion_tokens,
  coalesce(sum(total_tokens), 0)::BIGINT AS total_tokens,
  coalesce(sum(cached_tokens), 0)::BIGINT AS cached_tokens,
  coalesce(sum(cache_write_tokens), 0)::BIGINT AS cache_write_tokens,
  coalesce(sum(reasoning_tokens), 0)::BIGINT AS reasoning_tokens,
  coalesce(sum(cost_usd), 0)::DECIMAL(38, 10) AS spend_usd
FROM spend_logs
WHERE "day" IN (SELECT "day" FROM rollup_scope)
GROUP BY "day", tags;

-- Tag pairs: `team:search` is key `team`, value `search` (split at the first ':'); set_id
-- identifies the tag set a pair came from.
CREATE OR REPLACE TEMP TABLE rollup_tag_pairs AS
SELECT * EXCLUDE (tag), left(tag, strpos(tag, ':') - 1) AS tag_key, substring(tag, strpos(tag, ':') + 1) AS tag_value
FROM (SELECT rowid AS set_id, * EXCLUDE (tags), unnest(list_distinct(tags)) AS tag FROM rollup_tag_sets)
WHERE strpos(tag, ':') > 1;
