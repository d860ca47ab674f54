-- The local days of one piece's changed shares, rolled up again; in the piece's transaction.
INSERT OR IGNORE INTO rollup_pending_days SELECT DISTINCT local_day FROM trueup_changes WHERE piece = $piece;
