-- One provider's bill lines of one UTC day, as the store object holds them (amounts as exact text).
SELECT line_key, model, description, amount_usd::VARCHAR AS amount_usd, source, source_file, source_line, raw
FROM billed_costs
WHERE provider = $provider AND "day" = $day::DATE
ORDER BY line_key;
