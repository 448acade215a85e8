"""Vector tiles as functions that keep the tenant confinement and use the spatial index.

Under row-level security PostgreSQL evaluates the policy before any operator that is not marked
LEAKPROOF, and PostGIS's `&&` is not: a tile query run by the application role cannot use the
GiST index and reads the whole census (0.5 s a tile for a million components instead of 30 ms).
These functions run as their owner (SECURITY DEFINER: the owner is not subject to the policy)
and apply the same confinement explicitly, `district_code = ANY (citygrid_districts())` (read
once per tile), from the setting the server sets for the caller's token; the index finds the
tile's rows.

They also switch off JIT and parallel plans for the statement: PostGIS's functions carry high
cost estimates, so the planner compiles and parallelises a tile query that takes milliseconds
(JIT alone costs ~140 ms a tile here).

The statements were those of api/sql/tile_*.sql with the confinement added. Since then the files
hold the confinement themselves, and every upgrade to head remakes the functions from them
(api.tiles.install_functions): what this revision made is history.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 01:30:00
"""

from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

APP_ROLE = "citygrid_app"

ENVELOPE = """
    WITH env AS (
        SELECT ST_TileEnvelope(z, x, y) AS tile,
               ST_Transform(ST_TileEnvelope(z, x, y, margin => 0.015625), 4490) AS filter
    )"""

TILES = {
    "components": ENVELOPE + """
    SELECT ST_AsMVT(t, 'components', 4096, 'geom') FROM (
        SELECT c.code, c.class_code AS class, left(c.class_code, 2) AS major,
               ST_AsMVTGeom(ST_Transform(c.geom, 3857), env.tile, 4096, 64, true) AS geom
        FROM component c, env
        WHERE c.retired_at IS NULL AND c.geom && env.filter
          AND c.district_code = ANY (codes)
    ) t""",
    "grids": ENVELOPE + """
    SELECT ST_AsMVT(t, 'grids', 4096, 'geom') FROM (
        SELECT g.code, g.district_code AS district, g.street_code AS street,
               g.community_code AS community, round(g.area_m2)::int AS area_m2,
               ST_AsMVTGeom(ST_Transform(g.geom, 3857), env.tile, 4096, 64, true) AS geom
        FROM grid g, env
        WHERE g.valid_to IS NULL AND g.geom && env.filter
          AND g.district_code = ANY (codes)
    ) t""",
    "outlines": ENVELOPE + """
    SELECT (SELECT coalesce(ST_AsMVT(s, 'streets', 4096, 'geom'), ''::bytea) FROM (
                SELECT st.code, st.name,
                       ST_AsMVTGeom(ST_Transform(coalesce(st.boundary, st.outline), 3857),
                                    env.tile, 4096, 64, true) AS geom
                FROM street st, env
                WHERE coalesce(st.boundary, st.outline) && env.filter
                  AND st.district_code = ANY (codes)) s)
        || (SELECT coalesce(ST_AsMVT(c, 'communities', 4096, 'geom'), ''::bytea) FROM (
                SELECT cm.code, cm.name,
                       ST_AsMVTGeom(ST_Transform(coalesce(cm.boundary, cm.outline), 3857),
                                    env.tile, 4096, 64, true) AS geom
                FROM community cm, env
                WHERE coalesce(cm.boundary, cm.outline) && env.filter
                  AND cm.district_code = ANY (codes)) c)""",
}


def upgrade() -> None:
    for layer, statement in TILES.items():
        # plpgsql: the plan is prepared once per connection, not for every tile
        op.execute(f"""
            CREATE FUNCTION citygrid_tile_{layer}(z integer, x integer, y integer)
            RETURNS bytea LANGUAGE plpgsql STABLE SECURITY DEFINER
            SET search_path = public SET jit = off SET max_parallel_workers_per_gather = 0
            AS $fn$ DECLARE codes text[] := citygrid_districts();
            BEGIN RETURN ({statement}); END $fn$""")
        op.execute(f"REVOKE ALL ON FUNCTION citygrid_tile_{layer}(integer, integer, integer) "
                   "FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION citygrid_tile_{layer}(integer, integer, integer) "
                   f"TO {APP_ROLE}")


def downgrade() -> None:
    for layer in TILES:
        op.execute(f"DROP FUNCTION citygrid_tile_{layer}(integer, integer, integer)")
