-- The days an import changed are newer here than in the store until they are written there.
INSERT OR IGNORE INTO bill_unstored_days SELECT provider, "day" FROM bill_changed_days;
