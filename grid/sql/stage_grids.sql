-- Staging table for one grid import, filled by COPY from one CSV that Arrow writes (an INSERT
-- over arrays had psycopg quote every value in Python: 0.4 s of 10,000 grids;
-- bench/grid_import.py). geom holds hex WKB (input of the plain geometry type); the SRID is set
-- when inserting into `grid` (insert_grids.sql).
CREATE TEMP TABLE grid_stage (
    code text NOT NULL,
    street_code text NOT NULL,
    community_code text NOT NULL,
    area_m2 float8 NOT NULL,
    attrs jsonb NOT NULL,
    geom geometry NOT NULL
) ON COMMIT DROP
