-- The reports' split rule (as split_units in sql/rollup/rebuild_rollups.sql): the i-th (1-based)
-- of n even shares of `units`, the first `units mod n` shares one unit more. TEMP: made once per
-- connection, also on the read-only snapshot, for sql/serve/drill_rows.sql.
CREATE OR REPLACE TEMP MACRO drill_split(units, n, i) AS
  sign(units) * (abs(units) // n + CASE WHEN i <= abs(units) % n THEN 1 ELSE 0 END);
