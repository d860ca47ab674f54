-- Request ids stage_batch_duplicates found stored more than once (0: nothing to delete).
SELECT count(*) AS n FROM batch_duplicates;
