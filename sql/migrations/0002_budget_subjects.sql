-- Migration 2: budgets for customers (end users) and keys beside tags, and alerts of more kinds
-- (soft budget, projected overspend, spike). Existing rows are tag budgets and threshold alerts:
-- they get subject_kind 'tag', their tag as subject and kind 'threshold'. `tag` stays for
-- queries written against version 1; it is NULL on customer and key rows.

ALTER TABLE budget_status ADD COLUMN subject_kind VARCHAR DEFAULT 'tag';
ALTER TABLE budget_status ADD COLUMN subject VARCHAR;
UPDATE budget_status SET subject = tag, subject_kind = 'tag' WHERE subject IS NULL;
ALTER TABLE budget_status ALTER COLUMN tag DROP NOT NULL;
-- 'own' (the subject's definition or key config) or 'default' (budgets.default_customer_budget).
ALTER TABLE budget_status ADD COLUMN budget_source VARCHAR DEFAULT 'own';
ALTER TABLE budget_status ADD COLUMN soft_budget_usd DECIMAL(38, 10);
ALTER TABLE budget_status ALTER COLUMN max_budget_usd DROP NOT NULL;

ALTER TABLE alerts_sent ADD COLUMN kind VARCHAR DEFAULT 'threshold';
ALTER TABLE alerts_sent ADD COLUMN subject_kind VARCHAR DEFAULT 'tag';
ALTER TABLE alerts_sent ADD COLUMN subject VARCHAR;
UPDATE alerts_sent SET subject = tag, subject_kind = 'tag', kind = 'threshold' WHERE subject IS NULL;
ALTER TABLE alerts_sent ALTER COLUMN tag DROP NOT NULL;
ALTER TABLE alerts_sent ALTER COLUMN max_budget_usd DROP NOT NULL;
