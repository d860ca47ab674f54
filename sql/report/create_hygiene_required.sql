CREATE OR REPLACE TEMP TABLE hygiene_required (key_alias VARCHAR, tag_key VARCHAR NOT NULL);
