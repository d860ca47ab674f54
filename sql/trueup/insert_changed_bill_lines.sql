INSERT INTO billed_costs
SELECT i.provider, i."day"::DATE, i.line_key, i.model, i.description, i.amount_usd::DECIMAL(18, 10),
  i.source, i.source_file, i.source_line, i.raw, $imported_at::TIMESTAMP, $run_id
FROM bill_import i SEMI JOIN bill_changed_days c ON i.provider = c.provider AND i."day"::DATE = c."day";
