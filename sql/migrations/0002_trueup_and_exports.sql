-- Migration 2: invoice true-up (docs/trueup.md) and the Parquet export's bookkeeping (docs/scale.md).

-- Each request's share of its provider's bill (docs/trueup.md: allocation); NULL while no
-- imported bill covers its provider and UTC day.
ALTER TABLE spend_logs ADD COLUMN billed_usd DECIMAL(18, 10);

-- The rollups' billed measure: the sum of billed_usd (0 where no bill covers the requests).
ALTER TABLE rollup_daily ADD COLUMN billed_usd DECIMAL(38, 10) DEFAULT 0;
ALTER TABLE rollup_daily_tag ADD COLUMN billed_usd DECIMAL(38, 10) DEFAULT 0;
ALTER TABLE rollup_daily_tag_key ADD COLUMN billed_usd DECIMAL(38, 10) DEFAULT 0;
ALTER TABLE rollup_daily_user ADD COLUMN billed_usd DECIMAL(38, 10) DEFAULT 0;
ALTER TABLE rollup_daily_metadata ADD COLUMN billed_usd DECIMAL(38, 10) DEFAULT 0;
ALTER TABLE rollup_daily_model ADD COLUMN billed_usd DECIMAL(38, 10) DEFAULT 0;
ALTER TABLE rollup_daily_key ADD COLUMN billed_usd DECIMAL(38, 10) DEFAULT 0;

-- Bill lines imported plus requests whose allocated share changed, per job run.
ALTER TABLE job_runs ADD COLUMN billed BIGINT;

-- The providers' bills: one row per bill line (provider x UTC day x line). An import replaces
-- every line of each (provider, day) it carries, so re-importing the same pages changes nothing.
CREATE TABLE billed_costs (
  provider    VARCHAR NOT NULL,
  -- The provider's billing day, in UTC (providers bill by UTC day, whatever jobs' timezone is).
  "day"       DATE NOT NULL,
  -- The fields the provider grouped the line by, as JSON: identifies it within its day.
  line_key    VARCHAR NOT NULL,
  -- The model the line bills as the provider names it; NULL when the line is not per model.
  model       VARCHAR,
  description VARCHAR,
  amount_usd  DECIMAL(18, 10) NOT NULL,
  source      VARCHAR NOT NULL,
  source_file VARCHAR,
  source_line BIGINT,
  raw         VARCHAR,
  imported_at TIMESTAMP NOT NULL,
  run_id      BIGINT
);

-- UTC days whose bills changed since they were last allocated.
CREATE TABLE trueup_pending_days (
  "day" DATE PRIMARY KEY
);

-- One row per allocation pool (provider x UTC day, x model where the bill has it): what was
-- billed, what the records in it were estimated at, what they were allocated, and the rest,
-- which is the (unattributed) row of billed reports.
CREATE TABLE trueup_pools (
  "day"            DATE NOT NULL,
  provider         VARCHAR NOT NULL,
  -- The bill's model, normalised for matching records (docs/trueup.md); NULL: the provider's whole day.
  model_key        VARCHAR,
  billed_usd       DECIMAL(38, 10) NOT NULL,
  estimated_usd    DECIMAL(38, 10) NOT NULL,
  allocated_usd    DECIMAL(38, 10) NOT NULL,
  unattributed_usd DECIMAL(38, 10) NOT NULL,
  requests         BIGINT NOT NULL,
  allocated_at     TIMESTAMP NOT NULL,
  run_id           BIGINT
);

-- The days of spend_logs exported to the store as Parquet (parquet/spend_logs/dt=.../), with a
-- fingerprint of their rows: a day whose fingerprint changed is written again.
CREATE TABLE parquet_exports (
  "day"       DATE PRIMARY KEY,
  fingerprint VARCHAR NOT NULL,
  "rows"      BIGINT NOT NULL,
  files       INTEGER NOT NULL,
  exported_at TIMESTAMP NOT NULL,
  run_id      BIGINT
);
