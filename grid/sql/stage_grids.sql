-- Staging table for one grid import, filled by COPY: psycopg formats COPY rows in C, where the
-- arrays of an INSERT … unnest were quoted in Python (0.4 s of 10,000 grids;
-- bench/grid_import.py). Inserted into `grid` by insert_grids.sql.
CREATE TEMP TABLE grid_stage (
    code text NOT NULL,
    street_code text NOT NULL,
    community_code text NOT NULL,
    area_m2 float8 NOT NULL,
    attrs jsonb NOT NULL,
    wkb bytea NOT NULL
) ON COMMIT DROP
