"""The schema and the zero-configuration local cluster."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import psycopg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import migrations
from gis.cluster import LocalCluster
from migrations.schema import metadata
from tests.conftest import ROOT


def test_migrations_match_the_table_definitions(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={
            "compare_type": True,
            "include_object": lambda o, n, t, r, c: not (t == "table" and n == "spatial_ref_sys")})
        assert compare_metadata(ctx, metadata) == []


def test_migrations_go_down_and_up_again(fresh_engine):
    migrations.downgrade(fresh_engine, "base")
    assert migrations.current(fresh_engine) is None
    migrations.upgrade(fresh_engine)
    assert migrations.current(fresh_engine) == migrations.head()


def test_every_district_table_has_the_district_code_in_its_primary_key(engine):
    for table in metadata.sorted_tables:
        if "district_code" in table.c:
            assert "district_code" in table.primary_key.columns, table.name


def test_local_cluster_up_and_down():
    (ROOT / ".citygrid").mkdir(exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="cluster-test-", dir=ROOT / ".citygrid"))
    try:
        cluster = LocalCluster(home, preferred_port=5433)   # 5433 is usually taken: moves on
        url = cluster.up()
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT current_database()").fetchone()[0] == "citygrid"
        assert cluster.up() == url          # idempotent
        assert cluster.down() is True
        assert cluster.running() is False
        assert cluster.down() is False
    finally:
        if LocalCluster(home).running():
            LocalCluster(home).down()
        shutil.rmtree(home, ignore_errors=True)
