-- The breakdown page's dimensions with spend in a period, largest first: tag keys (`team` of
-- `team:search`; kind 'tag_key') and up to 50 metadata fields (kind 'meta_key').
WITH tag_keys AS (
  SELECT tag_key AS name, sum(spend_usd) AS spend_usd
  FROM rollup_daily_tag_key
  WHERE "day" BETWEEN $from::DATE AND $to::DATE
  GROUP BY tag_key
),
meta_keys AS (
  SELECT meta_key AS name, sum(spend_usd) AS spend_usd
  FROM rollup_daily_metadata
  WHERE "day" BETWEEN $from::DATE AND $to::DATE
  GROUP BY meta_key
  ORDER BY spend_usd DESC, name
  LIMIT 50
)
SELECT 'tag_key' AS kind, name, spend_usd FROM tag_keys
UNION ALL
SELECT 'meta_key' AS kind, name, spend_usd FROM meta_keys
ORDER BY kind DESC, spend_usd DESC, name;
