SELECT "key" FROM ingested_objects WHERE "key" > $after;
