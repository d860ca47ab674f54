-- Every day about to be allocated stays in trueup_pending_days until its batch's last transaction
-- (sql/trueup/clear_pending_days.sql): a run that stops between pieces leaves its unfinished days
-- for the next run, which allocates them again from scratch (whatever scope they came from).
INSERT OR IGNORE INTO trueup_pending_days SELECT "day" FROM trueup_scope;
