-- The period's requests grouped by API key and exact tag list (far fewer rows than requests),
-- with the tag keys each list carries and its app values.
CREATE OR REPLACE TEMP TABLE hygiene_sets AS
SELECT key_alias, tags,
  list_distinct(list_transform(list_filter(tags, t -> strpos(t, ':') > 1), t -> left(t, strpos(t, ':') - 1))) AS tag_keys,
  list_distinct(list_transform(list_filter(tags, t -> starts_with(t, app_prefix)), t -> substring(t, strpos(t, ':') + 1))) AS apps,
  count(*) AS requests, coalesce(sum(cost_usd), 0)::DECIMAL(38, 10) AS spend_usd
FROM spend_logs, (SELECT app_key || ':' AS app_prefix, from_day, to_day FROM hygiene_params) p
WHERE "day" BETWEEN p.from_day AND p.to_day
GROUP BY key_alias, tags, app_prefix;
