-- Migration 3: budgets for customers (end users) and keys beside tags, and alerts of more kinds
-- (soft budget, projected overspend, spike). Both tables are rebuilt (DuckDB cannot update rows
-- in the transaction that altered their table): existing rows are tag budgets and threshold
-- alerts, so they get subject_kind 'tag', their tag as subject and kind 'threshold'. `tag` stays
-- for queries written against version 1; it is NULL on customer and key rows.

CREATE TABLE budget_status_v2 (
  run_id          BIGINT,
  evaluated_at    TIMESTAMP NOT NULL,
  -- The tag for tag budgets (NULL for customers and keys): the column of version 1.
  tag             VARCHAR,
  budget_duration VARCHAR NOT NULL,
  window_start    TIMESTAMP NOT NULL,
  reset_at        TIMESTAMP NOT NULL,
  spend_usd       DECIMAL(38, 10) NOT NULL,
  -- NULL: only a soft budget (alerts, no blocking).
  max_budget_usd  DECIMAL(38, 10),
  blocked         BOOLEAN NOT NULL,
  watermark       TIMESTAMP,
  -- tag, customer (the stored form of the end user's id) or key (its alias).
  subject_kind    VARCHAR NOT NULL,
  subject         VARCHAR NOT NULL,
  -- own (a definition or the key's config) or default (budgets.default_customer_budget).
  budget_source   VARCHAR NOT NULL,
  soft_budget_usd DECIMAL(38, 10)
);
INSERT INTO budget_status_v2
SELECT run_id, evaluated_at, tag, budget_duration, window_start, reset_at, spend_usd, max_budget_usd, blocked, watermark,
       'tag', tag, 'own', NULL
FROM budget_status;
DROP TABLE budget_status;
ALTER TABLE budget_status_v2 RENAME TO budget_status;

CREATE TABLE alerts_sent_v2 (
  tag            VARCHAR,
  window_start   TIMESTAMP NOT NULL,
  reset_at       TIMESTAMP NOT NULL,
  -- threshold: the fraction of max_budget; soft: the soft budget (USD); projected: projected
  -- spend / max_budget when sent; spike: the day's spend / the 7-day median.
  threshold      DOUBLE NOT NULL,
  spend_usd      DECIMAL(38, 10) NOT NULL,
  max_budget_usd DECIMAL(38, 10),
  status         VARCHAR NOT NULL,
  attempts       INTEGER NOT NULL,
  error          VARCHAR,
  sent_at        TIMESTAMP NOT NULL,
  run_id         BIGINT,
  -- threshold, soft, projected or spike.
  kind           VARCHAR NOT NULL,
  subject_kind   VARCHAR NOT NULL,
  subject        VARCHAR NOT NULL
);
INSERT INTO alerts_sent_v2
SELECT tag, window_start, reset_at, threshold, spend_usd, max_budget_usd, status, attempts, error, sent_at, run_id,
       'threshold', 'tag', tag
FROM alerts_sent;
DROP TABLE alerts_sent;
ALTER TABLE alerts_sent_v2 RENAME TO alerts_sent;
