SELECT count(*) AS n, coalesce(max(piece) + 1, 0) AS pieces FROM trueup_changes;
