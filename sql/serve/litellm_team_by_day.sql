-- GET /global/spend/report?group_by=team: spend and tokens per day, team, model and key, a team
-- being a value of the tag key $team_key (`$team_key:VALUE`). A request with several values is
-- split evenly between them (as DOUBLE: LiteLLM's shape is floats; the per-team totals come from
-- the rollups), requests without one are under NULL.
-- First one pass over spend_logs groups the requests by day, model, key and their list of team
-- tags (as its JSON text: exact, and far cheaper to group than the list itself), a few thousand
-- groups; only those are split between their values.
WITH g AS (
  SELECT "day", model, key_hash, any_value(key_alias) AS key_alias,
    to_json(list_filter(tags, t -> starts_with(t, $team_key::VARCHAR || ':')))::VARCHAR AS teams_json,
    coalesce(sum(cost_usd), 0) AS spend,
    coalesce(sum(total_tokens), 0) AS total_tokens
  FROM spend_logs
  WHERE "day" BETWEEN $from::DATE AND $to::DATE
  GROUP BY "day", model, key_hash, teams_json
),
v AS (
  SELECT *, list_distinct(list_transform(from_json(teams_json, '["VARCHAR"]'), t -> substring(t, length($team_key::VARCHAR) + 2))) AS teams
  FROM g
)
SELECT strftime("day", '%Y-%m-%d') AS "day", team AS grp, model, key_hash, any_value(key_alias) AS key_alias,
  sum(spend::DOUBLE / greatest(len(teams), 1)) AS spend,
  sum(total_tokens::DOUBLE / greatest(len(teams), 1)) AS total_tokens
FROM (SELECT *, unnest(CASE WHEN len(teams) = 0 THEN [NULL::VARCHAR] ELSE teams END) AS team FROM v)
GROUP BY "day", team, model, key_hash
ORDER BY "day", team, model, key_hash;
