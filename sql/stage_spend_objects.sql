-- Fast path: parse whole downloaded objects into `staged` (fails on the first bad line).
INSERT INTO staged BY NAME SELECT * FROM read_spend_records({{files}});
