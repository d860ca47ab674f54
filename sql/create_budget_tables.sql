-- Budget state kept by the budgets job (docs/budgets.md). Idempotent: run at every budgets run.

-- One row per budgeted tag per budgets run: the history of each tag's spend against its budget.
CREATE TABLE IF NOT EXISTS budget_status (
  run_id          BIGINT,
  evaluated_at    TIMESTAMP NOT NULL,
  tag             VARCHAR NOT NULL,
  budget_duration VARCHAR NOT NULL,
  window_start    TIMESTAMP NOT NULL,
  reset_at        TIMESTAMP NOT NULL,
  spend_usd       DECIMAL(38, 10) NOT NULL,
  max_budget_usd  DECIMAL(38, 10) NOT NULL,
  blocked         BOOLEAN NOT NULL,
  -- Newest spend record ts loaded when the spend was summed: exact up to here.
  watermark       TIMESTAMP
);

-- One row per alert delivery: sent, logged (no webhook configured) or failed (retried next run).
CREATE TABLE IF NOT EXISTS alerts_sent (
  tag            VARCHAR NOT NULL,
  window_start   TIMESTAMP NOT NULL,
  reset_at       TIMESTAMP NOT NULL,
  threshold      DOUBLE NOT NULL,
  spend_usd      DECIMAL(38, 10) NOT NULL,
  max_budget_usd DECIMAL(38, 10) NOT NULL,
  status         VARCHAR NOT NULL,
  attempts       INTEGER NOT NULL,
  error          VARCHAR,
  sent_at        TIMESTAMP NOT NULL,
  run_id         BIGINT
);
