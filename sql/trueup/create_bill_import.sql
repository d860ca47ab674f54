-- The lines of one import, before they replace anything (TEMP: gone with the session).
CREATE OR REPLACE TEMP TABLE bill_import (
  provider VARCHAR NOT NULL, "day" VARCHAR NOT NULL, line_key VARCHAR NOT NULL, model VARCHAR,
  description VARCHAR, amount_usd VARCHAR NOT NULL, source VARCHAR NOT NULL, source_file VARCHAR,
  source_line BIGINT, raw VARCHAR
);
