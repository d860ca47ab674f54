-- GET /global/spend/report?group_by=customer|team: spend per day, group, model and key.
-- customer: the end user, each request once (exact sums). team: the values of the tag key
-- $team_key, a request with several split evenly (as DOUBLE here: LiteLLM's shape is floats; the
-- per-team totals come from the rollups), requests without one under NULL.
WITH r AS (
  SELECT "day", model, key_hash, key_alias, cost_usd, total_tokens,
    CASE WHEN $group::VARCHAR = 'customer' THEN ["user"]
         ELSE list_distinct(list_transform(list_filter(tags, t -> starts_with(t, $team_key::VARCHAR || ':')), t -> substring(t, length($team_key::VARCHAR) + 2))) END AS groups
  FROM spend_logs
  WHERE "day" BETWEEN $from::DATE AND $to::DATE
)
SELECT strftime("day", '%Y-%m-%d') AS "day", g AS grp, model, key_hash, any_value(key_alias) AS key_alias,
  sum(coalesce(cost_usd, 0)::DOUBLE / greatest(len(groups), 1)) AS spend,
  sum(coalesce(cost_usd, 0))::DECIMAL(38, 10) AS exact_spend,
  sum(coalesce(total_tokens, 0)::DOUBLE / greatest(len(groups), 1)) AS total_tokens
FROM (SELECT *, unnest(CASE WHEN len(groups) = 0 THEN [NULL::VARCHAR] ELSE groups END) AS g FROM r)
GROUP BY "day", g, model, key_hash
ORDER BY "day", g, model, key_hash;
