-- The bill lines of every day waiting to be written to the store, as its objects hold them
-- (amounts as exact text).
SELECT b.provider, strftime(b."day", '%Y-%m-%d') AS "day", line_key, model, description,
  amount_usd::VARCHAR AS amount_usd, source, source_file, source_line, raw
FROM billed_costs b SEMI JOIN bill_unstored_days u ON b.provider = u.provider AND b."day" = u."day"
ORDER BY b.provider, b."day", line_key;
