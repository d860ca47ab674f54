-- The inputs of a FOCUS export (TEMP, per session, also on the read-only snapshot): the period in
-- UTC days and the basis, and (filled by the caller) the list price of each model per token type.
CREATE OR REPLACE TEMP TABLE focus_period AS
SELECT $from::DATE AS from_day, $to::DATE AS to_day, $billed::BOOLEAN AS billed;
