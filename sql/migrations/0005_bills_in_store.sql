-- Migration 5: imported bills are kept in the store as well, one object per provider and UTC day
-- (bills/<provider>/<YYYY-MM-DD>.json), so that a DuckDB file rebuilt from the store gets them
-- back and the store stays the source of truth for everything the jobs load (docs/trueup.md).

-- The bill objects whose lines billed_costs holds, with the version (ETag) they were loaded or
-- written at: reconcile loads an object again only when its ETag changes.
CREATE TABLE bill_objects (
  object_key VARCHAR PRIMARY KEY,
  etag       VARCHAR NOT NULL,
  synced_at  TIMESTAMP NOT NULL
);

-- (provider, UTC day) pairs whose lines changed in this file and are not in the store yet: an
-- import writes them right after it commits, and the next reconcile writes whatever that missed
-- (the store was down, the process died). Their lines here are newer than the store's.
CREATE TABLE bill_unstored_days (
  provider VARCHAR NOT NULL,
  "day"    DATE NOT NULL,
  PRIMARY KEY (provider, "day")
);

-- Bills imported before this version are only in this file: the next run copies them out.
INSERT INTO bill_unstored_days SELECT DISTINCT provider, "day" FROM billed_costs;
