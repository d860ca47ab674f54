-- A bill object whose lines billed_costs now holds, at this version.
INSERT OR REPLACE INTO bill_objects VALUES ($object_key, $etag, $synced_at::TIMESTAMP);
