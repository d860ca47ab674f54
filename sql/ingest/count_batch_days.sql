-- Rows of the current batch per object as parsed (before duplicates are dropped).
SELECT "key", sum(n) AS n FROM batch_days GROUP BY "key";
