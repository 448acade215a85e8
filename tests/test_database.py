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
from migrations.schema import include_object, metadata
from tests.conftest import ROOT


def test_migrations_match_the_table_definitions(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True,
                                                     "include_object": include_object})
        assert compare_metadata(ctx, metadata) == []


def test_migrations_go_down_and_up_again(fresh_engine):
    migrations.downgrade(fresh_engine, "base")
    assert migrations.current(fresh_engine) is None
    migrations.upgrade(fresh_engine)
    assert migrations.current(fresh_engine) == migrations.head()


def test_the_last_revision_file_is_alembics_head(fresh_engine):
    # at_head, asked at every command's start, trusts the numbering of the revision files
    assert migrations.newest_file() == migrations.head()
    assert migrations.at_head(fresh_engine)
    migrations.downgrade(fresh_engine, "-1")
    assert not migrations.at_head(fresh_engine)
    migrations.downgrade(fresh_engine, "base")
    with fresh_engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE alembic_version")
    assert not migrations.at_head(fresh_engine)


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


REFERENCE_TABLES = {"class_catalog", "class_mapping", "component_status", "field_profile",
                    "handling_rule", "centre_step", "duplicate_rule", "calendar_day",
                    "working_period", "duty_period", "calendar_year", "evaluation_scheme",
                    "api_token",
                    "spatial_ref_sys", "alembic_version"}


def _district_column(conn, table):
    cols = {r[0] for r in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
        "AND table_name = %s", (table,))}
    return "code" if table == "district" else ("district_code" if "district_code" in cols
                                               else None)


def test_the_schema_is_ready_to_be_distributed_by_district(engine):
    """Citus distributes tables by a key: every table of district data has the district code in
    its primary key and unique constraints, foreign keys between district tables carry it, and
    the rest are reference tables."""
    url = engine.url.render_as_string(hide_password=False).replace("+psycopg", "")
    with psycopg.connect(url) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        district_tables = {}
        for t in tables:
            col = _district_column(conn, t)
            if col is None:
                assert t in REFERENCE_TABLES, f"{t}: neither district data nor a reference table"
            else:
                district_tables[t] = col
        assert {"grid", "component", "case_file", "case_event", "audit_event"} <= \
            set(district_tables)
        for t, col in district_tables.items():
            for kind, name, columns in conn.execute(
                    "SELECT c.contype, c.conname, array_agg(a.attname) FROM pg_constraint c "
                    "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey) "
                    "WHERE c.conrelid = %s::regclass AND c.contype IN ('p', 'u') "
                    "GROUP BY 1, 2", (t,)):
                assert col in columns, f"{t}.{name} ({kind}) lacks {col}"
            for (name,) in conn.execute(
                    "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = "
                    "%s::regclass AND indisunique", (t,)):
                cols = [r[0] for r in conn.execute(
                    "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = "
                    "i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indexrelid = %s::regclass",
                    (name,))]
                assert col in cols, f"unique index {name} lacks {col}"
            for name, target, mine, theirs in conn.execute(
                    "SELECT c.conname, c.confrelid::regclass::text, "
                    "(SELECT array_agg(attname) FROM pg_attribute WHERE attrelid = c.conrelid "
                    " AND attnum = ANY(c.conkey)), "
                    "(SELECT array_agg(attname) FROM pg_attribute WHERE attrelid = c.confrelid "
                    " AND attnum = ANY(c.confkey)) "
                    "FROM pg_constraint c WHERE c.conrelid = %s::regclass AND c.contype = 'f'",
                    (t,)):
                if target in district_tables and target != "district":
                    assert col in mine and district_tables[target] in theirs, \
                        f"{t}.{name} → {target} does not carry the district code"


def _listed(sql: str, call: str) -> set[str]:
    """The table names a `SELECT call(t) FROM unnest(ARRAY[...])` of docs/scale-out.md lists."""
    import re

    block = re.search(re.escape(call) + r"\(t\b.*?ARRAY\[(.*?)\]", sql, re.S)
    assert block, f"docs/scale-out.md has no {call} over a list of tables"
    return set(re.findall(r"'([a-z_]+)'", block.group(1)))


def test_the_citus_commands_of_the_scale_out_notes_name_every_table(engine):
    """docs/scale-out.md distributes every table of district data and makes every other table a
    reference table: a table added by a migration must be added there too."""
    import re

    text = (ROOT / "docs" / "scale-out.md").read_text(encoding="utf-8")
    sql = "\n".join(re.findall(r"```sql\n(.*?)```", text, re.S))
    url = engine.url.render_as_string(hide_password=False).replace("+psycopg", "")
    with psycopg.connect(url) as conn:
        tables = {r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        # a district's census partitions (census.partitions) are distributed with their parent
        parts = {r[0] for r in conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid")}
        district = {t for t in tables - parts if _district_column(conn, t) is not None}
    distributed = _listed(sql, "create_distributed_table") | set(
        re.findall(r"create_distributed_table\('([a-z_]+)'", sql))
    reference = _listed(sql, "create_reference_table")
    assert distributed == district - {"district"}
    assert reference == (tables - parts - district - {"spatial_ref_sys", "alembic_version"}) \
        | {"district"}
