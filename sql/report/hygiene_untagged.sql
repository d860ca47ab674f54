-- For every tag key of the period: the requests and spend without a value of it, over all
-- traffic (app NULL) and per app (the values of the app tag key), with the scope's totals.
WITH keys AS (SELECT DISTINCT unnest(tag_keys) AS tag_key FROM hygiene_sets),
scopes AS (
  SELECT NULL::VARCHAR AS app, * FROM hygiene_sets
  UNION ALL
  SELECT unnest(apps) AS app, * FROM hygiene_sets WHERE len(apps) > 0
)
SELECT s.app, k.tag_key,
  sum(s.requests) FILTER (WHERE NOT list_contains(s.tag_keys, k.tag_key)) AS untagged_requests,
  coalesce(sum(s.spend_usd) FILTER (WHERE NOT list_contains(s.tag_keys, k.tag_key)), 0)::DECIMAL(38, 10) AS untagged_spend_usd,
  sum(s.requests) AS requests, sum(s.spend_usd)::DECIMAL(38, 10) AS spend_usd
FROM scopes s, keys k
WHERE s.app IS NULL OR k.tag_key <> (SELECT app_key FROM hygiene_params)
GROUP BY s.app, k.tag_key
HAVING count(*) FILTER (WHERE NOT list_contains(s.tag_keys, k.tag_key)) > 0
ORDER BY s.app NULLS FIRST, untagged_spend_usd DESC, k.tag_key;
