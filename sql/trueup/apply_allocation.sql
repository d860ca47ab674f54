-- Writes one piece of the shares sql/trueup/stage_allocation.sql staged (only rows whose share
-- changed are there), in the piece's own transaction with sql/trueup/insert_changed_days.sql:
-- DuckDB keeps an UPDATE's undo in memory until COMMIT, so a piece bounds it.
UPDATE spend_logs SET billed_usd = c.billed_usd
FROM trueup_changes c
WHERE spend_logs.rowid = c.rid AND c.piece = $piece;
