-- Writes the allocation sql/trueup/stage_allocation.sql staged; run inside one transaction.
-- Only rows whose share changed are written, and only their days are rolled up again.
INSERT OR IGNORE INTO rollup_pending_days
SELECT DISTINCT s."day" FROM spend_logs s JOIN trueup_alloc a ON s.rowid = a.rid
WHERE a.billed_usd IS DISTINCT FROM a.old_billed;

UPDATE spend_logs SET billed_usd = a.billed_usd
FROM trueup_alloc a
WHERE spend_logs.rowid = a.rid AND a.billed_usd IS DISTINCT FROM a.old_billed;
