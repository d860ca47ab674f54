SELECT provider, strftime("day", '%Y-%m-%d') AS "day" FROM bill_unstored_days ORDER BY provider, "day";
