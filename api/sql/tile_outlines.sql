-- One vector tile of street and community outlines of the districts :codes (their own boundary
-- where delivered, else the union of their grids), two layers. Run by the server as
-- citygrid_tile_outlines(z, x, y), made from this file (api/tiles.py).
WITH env AS (
    SELECT ST_TileEnvelope(:z, :x, :y) AS tile,
           ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => 0.015625), 4490) AS filter
)
SELECT (SELECT coalesce(ST_AsMVT(s, 'streets', 4096, 'geom'), ''::bytea) FROM (
            SELECT st.code, st.name,
                   ST_AsMVTGeom(ST_Transform(coalesce(st.boundary, st.outline), 3857),
                                env.tile, 4096, 64, true) AS geom
            FROM street st, env
            WHERE coalesce(st.boundary, st.outline) && env.filter
              AND st.district_code = ANY (:codes)) s)
    || (SELECT coalesce(ST_AsMVT(c, 'communities', 4096, 'geom'), ''::bytea) FROM (
            SELECT cm.code, cm.name,
                   ST_AsMVTGeom(ST_Transform(coalesce(cm.boundary, cm.outline), 3857),
                                env.tile, 4096, 64, true) AS geom
            FROM community cm, env
            WHERE coalesce(cm.boundary, cm.outline) && env.filter
              AND cm.district_code = ANY (:codes)) c)
