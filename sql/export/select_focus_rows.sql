SELECT count(*) AS "rows", coalesce(sum(BilledCost), 0)::DECIMAL(38, 10) AS billed_cost FROM focus_rows;
