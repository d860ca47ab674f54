CREATE OR REPLACE TEMP TABLE repriceable_models (provider VARCHAR, model VARCHAR, upstream_model VARCHAR);
