DROP TABLE IF EXISTS hygiene_sets; DROP TABLE IF EXISTS hygiene_required; DROP TABLE IF EXISTS hygiene_params;
