-- One vector tile of the current unit grids of the districts :codes. From zoom 12 with their
-- codes and areas (the map labels and styles them); below, a county's thousands of grids are a
-- pattern, not things to read: the per-grid values (code, area) are left out and the outlines
-- simplified by half a tile unit, which keeps a 10,000-grid county's tile at zoom 9 near
-- 270 kB (the street and community codes, shared by hundreds of grids, cost little and let a
-- client colour by them). Run by the server as citygrid_tile_grids(z, x, y), made from this
-- file (api/tiles.py).
WITH env AS (
    SELECT ST_TileEnvelope(:z, :x, :y) AS tile,
           ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => 0.015625), 4490) AS filter,
           180.0 / 4096 / 2 ^ :z AS half_unit        -- half a tile unit, in degrees
)
SELECT ST_AsMVT(t, 'grids', 4096, 'geom') FROM (
    SELECT CASE WHEN :z >= 12 THEN g.code END AS code,
           g.district_code AS district, g.street_code AS street,
           g.community_code AS community,
           CASE WHEN :z >= 12 THEN round(g.area_m2)::int END AS area_m2,
           ST_AsMVTGeom(ST_Transform(ST_Simplify(g.geom, env.half_unit, true), 3857),
                        env.tile, 4096, 64, true) AS geom
    FROM grid g, env
    WHERE g.valid_to IS NULL AND g.geom && env.filter
      AND g.district_code = ANY (:codes)
) t
