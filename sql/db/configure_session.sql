-- Every session works in UTC: TIMESTAMPTZ values convert to UTC TIMESTAMPs.
SET TimeZone = 'UTC';
