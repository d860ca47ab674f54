-- Request ids the last delete_batch_duplicates found stored more than once (0: it deleted nothing).
SELECT count(*) AS n FROM batch_duplicates;
