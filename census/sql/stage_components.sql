-- Staging table for one census import: filled by COPY (the only way to move a million rows into
-- PostgreSQL in seconds), then merged into `component` by one set-based statement.
-- geom holds hex WKB (input of the plain geometry type); the SRID is set when merging.
CREATE TEMP TABLE component_stage (
    code text PRIMARY KEY,
    class_code text NOT NULL,
    name text NOT NULL,
    dept_id bigint,
    owner_id bigint,
    maintainer_id bigint,
    status text,
    initial_date date,
    change_date date,
    data_source text,
    note text,
    grid_code text NOT NULL,
    file_grid_code text,
    attrs jsonb NOT NULL,
    geom geometry NOT NULL
) ON COMMIT DROP
