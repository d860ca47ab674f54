-- GET /global/spend/report?group_by=customer, one page: the customers (end users; requests
-- without one are the NULL customer) ranked by spend over the period from rollup_daily_user
-- (largest first, then by id, NULL first), $offset skipped and $limit kept, then only their
-- requests read from spend_logs, by day, model and key. `day_spend` is the customer's exact
-- spend of the day; `rank` orders the customers of a day.
WITH ranked AS (
  SELECT "user", row_number() OVER (ORDER BY sum(spend_usd) DESC, "user" NULLS FIRST) AS rank
  FROM rollup_daily_user
  WHERE "day" BETWEEN $from::DATE AND $to::DATE
  GROUP BY "user"
),
page AS (
  SELECT "user", rank FROM ranked WHERE rank > $offset AND rank <= $offset + $limit
)
SELECT strftime(s."day", '%Y-%m-%d') AS "day", any_value(p.rank) AS rank, s."user", s.model, s.key_hash, any_value(s.key_alias) AS key_alias,
  coalesce(sum(s.cost_usd), 0)::DOUBLE AS spend,
  coalesce(sum(s.total_tokens), 0)::BIGINT AS total_tokens,
  (sum(coalesce(sum(s.cost_usd), 0)) OVER (PARTITION BY s."day", s."user"))::DECIMAL(38, 10) AS day_spend
FROM spend_logs s
JOIN page p ON s."user" IS NOT DISTINCT FROM p."user"
WHERE s."day" BETWEEN $from::DATE AND $to::DATE
GROUP BY s."day", s."user", s.model, s.key_hash
ORDER BY s."day", rank, s.model, s.key_hash;
