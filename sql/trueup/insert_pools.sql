INSERT INTO trueup_pools
SELECT "day", provider, model_key, billed_usd,
  (est_units::DECIMAL(38, 0) * 0.0000000001::DECIMAL(38, 10))::DECIMAL(38, 10),
  (alloc_units::DECIMAL(38, 0) * 0.0000000001::DECIMAL(38, 10))::DECIMAL(38, 10),
  ((billed_units - alloc_units)::DECIMAL(38, 0) * 0.0000000001::DECIMAL(38, 10))::DECIMAL(38, 10),
  requests, $allocated_at::TIMESTAMP, $run_id
FROM trueup_pool_stats;
