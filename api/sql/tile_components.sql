-- One vector tile of the live census (points, lines, polygons) of the districts :codes; the GIST
-- index on component.geom finds the tile's rows. What a map styles and identifies a component
-- by: its code, class and major class (name, status and the rest are one click away, from the
-- lookup or the OGC API: each attribute costs every feature of a 10,000-feature tile).
-- The server runs it as the function citygrid_tile_components(z, x, y) made from this file
-- (api/tiles.py), with :codes the caller's districts; bench/tiles.py times that against this
-- statement run bare.
WITH env AS (
    SELECT ST_TileEnvelope(:z, :x, :y) AS tile,
           ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => 0.015625), 4490) AS filter
)
SELECT ST_AsMVT(t, 'components', 4096, 'geom') FROM (
    SELECT c.code, c.class_code AS class, left(c.class_code, 2) AS major,
           ST_AsMVTGeom(ST_Transform(c.geom, 3857), env.tile, 4096, 64, true) AS geom
    FROM component c, env
    WHERE c.retired_at IS NULL AND c.geom && env.filter
      AND c.district_code = ANY (:codes)
) t
