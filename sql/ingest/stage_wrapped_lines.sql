-- Slow path: parse re-wrapped lines (with their line numbers) into `slow_rows`.
INSERT INTO slow_rows BY NAME SELECT * FROM read_spend_wrapped({{file}});
