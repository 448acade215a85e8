-- One vector tile of street and community outlines of the districts :codes (their own boundary
-- where delivered, else the union of their grids), two layers, simplified by half a tile unit
-- (a county's outlines from zoom 6). Run by the server as citygrid_tile_outlines(z, x, y), made
-- from this file (api/tiles.py).
WITH env AS (
    SELECT ST_TileEnvelope(:z, :x, :y) AS tile,
           ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => 0.015625), 4490) AS filter,
           180.0 / 4096 / 2 ^ :z AS half_unit        -- half a tile unit, in degrees
)
SELECT (SELECT coalesce(ST_AsMVT(s, 'streets', 4096, 'geom'), ''::bytea) FROM (
            SELECT st.code, st.name,
                   ST_AsMVTGeom(ST_Transform(ST_Simplify(coalesce(st.boundary, st.outline),
                                                         env.half_unit, true), 3857),
                                env.tile, 4096, 64, true) AS geom
            FROM street st, env
            WHERE coalesce(st.boundary, st.outline) && env.filter
              AND st.district_code = ANY (:codes)) s)
    || (SELECT coalesce(ST_AsMVT(c, 'communities', 4096, 'geom'), ''::bytea) FROM (
            SELECT cm.code, cm.name,
                   ST_AsMVTGeom(ST_Transform(ST_Simplify(coalesce(cm.boundary, cm.outline),
                                                         env.half_unit, true), 3857),
                                env.tile, 4096, 64, true) AS geom
            FROM community cm, env
            WHERE coalesce(cm.boundary, cm.outline) && env.filter
              AND cm.district_code = ANY (:codes)) c)
