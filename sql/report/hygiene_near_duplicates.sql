-- Pairs of tags of the period that are probably one tag written two ways: the same once case,
-- spaces, `-` and `_` are ignored, or one character apart (an edit that is not a digit, so
-- team1/team2 are not flagged; both at least 5 characters). Each pair is listed once, from the
-- tag with less spend (the likely typo).
WITH t AS (
  SELECT tag, sum(requests) AS requests, sum(spend_usd) AS spend_usd
  FROM rollup_daily_tag
  WHERE tag IS NOT NULL AND "day" BETWEEN $from::DATE AND $to::DATE
  GROUP BY tag
),
n AS (
  SELECT *, regexp_replace(lower(trim(tag)), '[\s_-]+', '-', 'g') AS norm,
    regexp_replace(lower(trim(CASE WHEN strpos(tag, ':') > 1 THEN left(tag, strpos(tag, ':') - 1) ELSE '' END)), '[\s_-]+', '-', 'g') AS norm_key,
    regexp_replace(tag, '[0-9]', '', 'g') AS no_digits
  FROM t
)
SELECT a.tag, a.requests, a.spend_usd::DECIMAL(38, 10) AS spend_usd, b.tag AS other, b.spend_usd::DECIMAL(38, 10) AS other_spend_usd,
  CASE WHEN a.norm = b.norm THEN 'case, spaces, - or _' ELSE 'one character' END AS differs_by
FROM n a JOIN n b ON a.norm_key = b.norm_key AND a.tag <> b.tag
WHERE (a.spend_usd < b.spend_usd OR (a.spend_usd = b.spend_usd AND (a.requests < b.requests OR (a.requests = b.requests AND a.tag < b.tag))))
  AND (a.norm = b.norm
       OR (length(a.tag) >= 5 AND length(b.tag) >= 5 AND a.no_digits <> b.no_digits AND levenshtein(a.tag, b.tag) = 1))
ORDER BY b.spend_usd DESC, a.tag, b.tag;
