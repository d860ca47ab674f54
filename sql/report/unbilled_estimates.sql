-- Requests of the period with an estimated cost but no share of a bill (no bill imported for
-- their provider and UTC day), for the billed report's note.
SELECT count(*) AS requests, coalesce(sum(cost_usd), 0)::DECIMAL(38, 10) AS estimated_usd
FROM spend_logs
WHERE "day" BETWEEN $from::DATE AND $to::DATE AND billed_usd IS NULL AND coalesce(cost_usd, 0) <> 0;
