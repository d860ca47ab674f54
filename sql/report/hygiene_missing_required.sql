-- API keys whose traffic misses a required tag key (hygiene_required: for every key, or for one
-- alias), with the requests and spend without it and the key's totals.
SELECT s.key_alias, r.tag_key,
  sum(s.requests) FILTER (WHERE NOT list_contains(s.tag_keys, r.tag_key)) AS missing_requests,
  coalesce(sum(s.spend_usd) FILTER (WHERE NOT list_contains(s.tag_keys, r.tag_key)), 0)::DECIMAL(38, 10) AS missing_spend_usd,
  sum(s.requests) AS requests, sum(s.spend_usd)::DECIMAL(38, 10) AS spend_usd
FROM hygiene_sets s JOIN hygiene_required r ON r.key_alias IS NULL OR r.key_alias = s.key_alias
GROUP BY s.key_alias, r.tag_key
HAVING count(*) FILTER (WHERE NOT list_contains(s.tag_keys, r.tag_key)) > 0
ORDER BY missing_spend_usd DESC, s.key_alias NULLS LAST, r.tag_key;
