-- CSV: date/times as FOCUS writes them (ISO 8601, `YYYY-MM-DDTHH:mm:ssZ`), decimals as plain
-- decimal text, nulls as empty fields.
COPY (
  SELECT * REPLACE (
    strftime(BillingPeriodEnd, '%Y-%m-%dT%H:%M:%SZ') AS BillingPeriodEnd,
    strftime(BillingPeriodStart, '%Y-%m-%dT%H:%M:%SZ') AS BillingPeriodStart,
    strftime(ChargePeriodEnd, '%Y-%m-%dT%H:%M:%SZ') AS ChargePeriodEnd,
    strftime(ChargePeriodStart, '%Y-%m-%dT%H:%M:%SZ') AS ChargePeriodStart
  )
  FROM focus_rows
) TO {{file}} (FORMAT csv, HEADER true);
