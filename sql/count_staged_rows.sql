SELECT filename, count(*) AS n FROM staged GROUP BY filename;
