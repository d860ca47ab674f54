DROP TABLE IF EXISTS trueup_alloc; DROP TABLE IF EXISTS trueup_pool_stats; DROP TABLE IF EXISTS trueup_records;
DROP TABLE IF EXISTS trueup_pool_bills; DROP TABLE IF EXISTS trueup_scope;
