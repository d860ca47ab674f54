-- The inputs of the tag hygiene report (TEMP, per session, also on the read-only snapshot): the
-- period and the tag key that names an app, then (filled by the caller) the required tag keys,
-- per API key alias or for all (alias NULL).
CREATE OR REPLACE TEMP TABLE hygiene_params AS
SELECT $from::DATE AS from_day, $to::DATE AS to_day, $app_key::VARCHAR AS app_key;
