DELETE FROM billed_costs USING bill_changed_days c
WHERE billed_costs.provider = c.provider AND billed_costs."day" = c."day";
