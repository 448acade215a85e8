-- One vector tile of the current unit grids of the districts :codes, with their codes and areas
-- (the map labels and styles them). Run by the server as citygrid_tile_grids(z, x, y), made from
-- this file (api/tiles.py).
WITH env AS (
    SELECT ST_TileEnvelope(:z, :x, :y) AS tile,
           ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => 0.015625), 4490) AS filter
)
SELECT ST_AsMVT(t, 'grids', 4096, 'geom') FROM (
    SELECT g.code, g.district_code AS district, g.street_code AS street,
           g.community_code AS community, round(g.area_m2)::int AS area_m2,
           ST_AsMVTGeom(ST_Transform(g.geom, 3857), env.tile, 4096, 64, true) AS geom
    FROM grid g, env
    WHERE g.valid_to IS NULL AND g.geom && env.filter
      AND g.district_code = ANY (:codes)
) t
