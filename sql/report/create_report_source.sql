-- Every day × dimension rollup as one relation, for the one report query (by_dimension.sql).
--   dim      the report dimension (src/report/dimensions.ts)
--   dim_key  the tag key (tag:KEY) or metadata field (meta:FIELD); NULL for the others
--   value    the dimension's value; NULL is the rollup's own "none" row (untagged, no user ...)
--   detail   a second label: the provider of a model
-- followed by the rollups' measures. TEMP: made per session, also on the read-only snapshot.
CREATE OR REPLACE TEMP VIEW report_source AS
SELECT 'tag' AS dim, NULL::VARCHAR AS dim_key, tag AS value, NULL::VARCHAR AS detail, * EXCLUDE (tag) FROM rollup_daily_tag
UNION ALL BY NAME
SELECT 'tag_key' AS dim, tag_key AS dim_key, tag_value AS value, NULL AS detail, * EXCLUDE (tag_key, tag_value) FROM rollup_daily_tag_key
UNION ALL BY NAME
SELECT 'meta' AS dim, meta_key AS dim_key, meta_value AS value, NULL AS detail, * EXCLUDE (meta_key, meta_value) FROM rollup_daily_metadata
UNION ALL BY NAME
SELECT 'user' AS dim, NULL AS dim_key, "user" AS value, NULL AS detail, * EXCLUDE ("user") FROM rollup_daily_user
UNION ALL BY NAME
SELECT 'model' AS dim, NULL AS dim_key, model AS value, provider AS detail, * EXCLUDE (model, provider, upstream_model) FROM rollup_daily_model
UNION ALL BY NAME
SELECT 'key' AS dim, NULL AS dim_key, key_alias AS value, NULL AS detail, * EXCLUDE (key_alias) FROM rollup_daily_key;
