-- The rows of a drill-down (src/report/drill.ts), split with the reports' rule in exact integer
-- units (requests in 1e-6, tokens whole, spend in 1e-10 USD) by drill_split
-- (create_drill_split.sql), the rollups' own rule:
--   1. the period's requests that carry every required tag ($tag1..$tag3, NULL requires nothing)
--      and match the other filters (a NULL parameter filters nothing), grouped by day, tag list
--      and the child dimension ($child: user, key, model, meta; NULL for tag dimensions) as the
--      rollups group them: that is what lets the splits reproduce the reports' figures;
--   2. each group's share of the drilled row: split between the values of each tag-key filter
--      in turn ($s1_key = $s1_value, then $s2_..., $s3_...; NULL: no split);
--   3. the rows: by tag key $by_key, each value gets its split share (no value: the NULL row);
--      by tag ($by_tag), each distinct tag the whole share (no tag: the NULL row); else by the
--      child (and its provider, for models). kind 'total' is the sum of step 2.
-- A tag key's values are the distinct texts after `key:`, sorted; the remainder units go to the
-- first. Each required tag is tested with list_contains (list_has_all took ~4x as long), and
-- the tag list is grouped as its JSON text (far cheaper to group than the list).
WITH g AS (
  SELECT "day", to_json(tags)::VARCHAR AS tags_json,
    CASE $child::VARCHAR
      WHEN 'user' THEN "user" WHEN 'key' THEN key_alias WHEN 'model' THEN model
      WHEN 'meta' THEN metadata[$child_meta::VARCHAR] END AS child,
    CASE WHEN $child::VARCHAR = 'model' THEN provider END AS child2,
    count(*) FILTER (WHERE cost_usd IS NULL) AS unpriced,
    (count(*) * 1000000)::HUGEINT AS requests,
    (count(*) FILTER (WHERE outcome IS DISTINCT FROM 'success') * 1000000)::HUGEINT AS errors,
    coalesce(sum(prompt_tokens), 0)::HUGEINT AS prompt_tokens,
    coalesce(sum(completion_tokens), 0)::HUGEINT AS completion_tokens,
    coalesce(sum(total_tokens), 0)::HUGEINT AS total_tokens,
    (coalesce(sum(cost_usd), 0) * 10000000000)::HUGEINT AS spend
  FROM spend_logs
  WHERE "day" BETWEEN $from::DATE AND $to::DATE
    AND ($tag1::VARCHAR IS NULL OR list_contains(tags, $tag1::VARCHAR))
    AND ($tag2::VARCHAR IS NULL OR list_contains(tags, $tag2::VARCHAR))
    AND ($tag3::VARCHAR IS NULL OR list_contains(tags, $tag3::VARCHAR))
    AND ($user::VARCHAR IS NULL OR "user" = $user::VARCHAR)
    AND ($key::VARCHAR IS NULL OR key_alias = $key::VARCHAR)
    AND ($model::VARCHAR IS NULL OR model = $model::VARCHAR)
    AND ($meta_key::VARCHAR IS NULL OR metadata[$meta_key::VARCHAR] = $meta_value::VARCHAR)
  GROUP BY ALL
),
t AS (
  SELECT * EXCLUDE (tags_json), from_json(tags_json, '["VARCHAR"]') AS tags,
    list_sort(list_distinct(list_transform(list_filter(from_json(tags_json, '["VARCHAR"]'), x -> starts_with(x, $s1_key::VARCHAR || ':')), x -> substring(x, length($s1_key::VARCHAR) + 2)))) AS v1,
    list_sort(list_distinct(list_transform(list_filter(from_json(tags_json, '["VARCHAR"]'), x -> starts_with(x, $s2_key::VARCHAR || ':')), x -> substring(x, length($s2_key::VARCHAR) + 2)))) AS v2,
    list_sort(list_distinct(list_transform(list_filter(from_json(tags_json, '["VARCHAR"]'), x -> starts_with(x, $s3_key::VARCHAR || ':')), x -> substring(x, length($s3_key::VARCHAR) + 2)))) AS v3
  FROM g
),
s1 AS (
  SELECT * EXCLUDE (requests, errors, prompt_tokens, completion_tokens, total_tokens, spend),
    drill_split(COLUMNS(c -> c IN ('requests', 'errors', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'spend')),
      CASE WHEN $s1_key::VARCHAR IS NULL THEN 1 ELSE len(v1) END, CASE WHEN $s1_key::VARCHAR IS NULL THEN 1 ELSE list_position(v1, $s1_value::VARCHAR) END)
  FROM t
),
s2 AS (
  SELECT * EXCLUDE (requests, errors, prompt_tokens, completion_tokens, total_tokens, spend),
    drill_split(COLUMNS(c -> c IN ('requests', 'errors', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'spend')),
      CASE WHEN $s2_key::VARCHAR IS NULL THEN 1 ELSE len(v2) END, CASE WHEN $s2_key::VARCHAR IS NULL THEN 1 ELSE list_position(v2, $s2_value::VARCHAR) END)
  FROM s1
),
drilled AS (
  SELECT * EXCLUDE (requests, errors, prompt_tokens, completion_tokens, total_tokens, spend, v1, v2, v3),
    drill_split(COLUMNS(c -> c IN ('requests', 'errors', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'spend')),
      CASE WHEN $s3_key::VARCHAR IS NULL THEN 1 ELSE len(v3) END, CASE WHEN $s3_key::VARCHAR IS NULL THEN 1 ELSE list_position(v3, $s3_value::VARCHAR) END)
  FROM s2
),
-- One row per (group, label): the by-key's values with their index, the distinct tags, or the child.
labelled AS (
  SELECT * EXCLUDE (tags, vals, child, child2),
    CASE WHEN $by_key::VARCHAR IS NULL AND NOT $by_tag THEN child2 END AS label2,
    unnest(CASE WHEN len(vals) = 0 THEN [NULL::VARCHAR] ELSE vals END) AS label,
    unnest(CASE WHEN len(vals) = 0 THEN [1] ELSE range(1, len(vals) + 1) END) AS i,
    greatest(len(vals), 1) AS n
  FROM (
    SELECT *,
      CASE WHEN $by_key::VARCHAR IS NOT NULL
             THEN list_sort(list_distinct(list_transform(list_filter(tags, x -> starts_with(x, $by_key::VARCHAR || ':')), x -> substring(x, length($by_key::VARCHAR) + 2))))
           WHEN $by_tag THEN list_distinct(tags)
           ELSE [child] END AS vals
    FROM drilled
  )
)
SELECT 'row' AS kind, label, label2,
  sum(COLUMNS(c -> c IN ('requests', 'errors', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'spend'))),
  sum(unpriced) AS unpriced
FROM (
  SELECT * EXCLUDE (requests, errors, prompt_tokens, completion_tokens, total_tokens, spend),
    -- by tag key: the value's share; by tag or child: the whole (n = 1)
    drill_split(COLUMNS(c -> c IN ('requests', 'errors', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'spend')), CASE WHEN $by_key::VARCHAR IS NULL THEN 1 ELSE n END, CASE WHEN $by_key::VARCHAR IS NULL THEN 1 ELSE i END)
  FROM labelled
)
GROUP BY label, label2
UNION ALL
SELECT 'total', NULL, NULL, sum(COLUMNS(c -> c IN ('requests', 'errors', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'spend'))), sum(unpriced)
FROM drilled;
