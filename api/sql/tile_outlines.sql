-- Street and community outlines (own boundary where delivered, else the union of their grids),
-- two layers of one vector tile.
WITH env AS (
    SELECT ST_TileEnvelope(:z, :x, :y) AS tile,
           ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => 0.015625), 4490) AS filter
)
SELECT (SELECT coalesce(ST_AsMVT(s, 'streets', 4096, 'geom'), ''::bytea) FROM (
            SELECT st.code, st.name,
                   ST_AsMVTGeom(ST_Transform(coalesce(st.boundary, st.outline), 3857), env.tile,
                                4096, 64, true) AS geom
            FROM street st, env
            WHERE coalesce(st.boundary, st.outline) && env.filter) s)
    || (SELECT coalesce(ST_AsMVT(c, 'communities', 4096, 'geom'), ''::bytea) FROM (
            SELECT cm.code, cm.name,
                   ST_AsMVTGeom(ST_Transform(coalesce(cm.boundary, cm.outline), 3857), env.tile,
                                4096, 64, true) AS geom
            FROM community cm, env
            WHERE coalesce(cm.boundary, cm.outline) && env.filter) c)
