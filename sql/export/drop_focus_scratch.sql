DROP TABLE IF EXISTS focus_rows; DROP TABLE IF EXISTS focus_split; DROP TABLE IF EXISTS focus_meters;
DROP TABLE IF EXISTS focus_groups; DROP TABLE IF EXISTS focus_tag_sets; DROP TABLE IF EXISTS focus_prices;
DROP TABLE IF EXISTS focus_period;
