DROP TABLE IF EXISTS trueup_changes; DROP TABLE IF EXISTS trueup_pool_stats; DROP TABLE IF EXISTS trueup_records;
DROP TABLE IF EXISTS trueup_kinds; DROP TABLE IF EXISTS trueup_batch; DROP TABLE IF EXISTS trueup_pool_bills;
DROP TABLE IF EXISTS trueup_scope;
