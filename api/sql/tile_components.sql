-- One vector tile of the live census (points, lines, polygons); the GIST index on component.geom
-- finds the tile's rows. Timed against this same statement run bare by bench/tiles.py.
WITH env AS (
    SELECT ST_TileEnvelope(:z, :x, :y) AS tile,
           ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => 0.015625), 4490) AS filter
)
SELECT ST_AsMVT(t, 'components', 4096, 'geom') FROM (
    SELECT c.code, c.class_code AS class, left(c.class_code, 2) AS major, c.name, c.status,
           ST_AsMVTGeom(ST_Transform(c.geom, 3857), env.tile, 4096, 64, true) AS geom
    FROM component c, env
    WHERE c.retired_at IS NULL AND c.geom && env.filter
) t
