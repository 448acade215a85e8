"""Throwaway databases for benchmarks, on citygrid's own cluster or the server in DATABASE_URL.

Each benchmark makes a database of its own (PostGIS, migrated to head), works in it and drops it
at the end, so a benchmark never touches the `citygrid` database a demo or a user is working in.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Engine

import migrations
from api.settings import Settings
from gis.db import ensure_postgis, make_engine, redact
from gis.errors import DatabaseUnavailable

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "citygrid_bench"


def server_url() -> str:
    """DATABASE_URL when set; otherwise citygrid's own cluster, started if needed."""
    settings = Settings()
    if settings.database_url:
        return settings.database_url
    from gis.cluster import LocalCluster

    # The checkout's cluster, wherever `python -m bench` is run from (like the tests).
    return LocalCluster(ROOT / ".citygrid", settings.pg_port).up()


def with_database(url: str, name: str) -> str:
    """The same server URL, naming another database."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@contextmanager
def throwaway_database(label: str) -> Iterator[str]:
    """A new database with PostGIS and the schema at head; dropped when the block ends."""
    server = server_url()
    name = f"{PREFIX}_{label}_{uuid.uuid4().hex[:8]}"
    admin_url = with_database(server, "postgres")
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0]
        raise DatabaseUnavailable(f"cannot create a database on {redact(server)}: {reason}") \
            from exc
    url = with_database(server, name)
    try:
        engine = make_engine(url)
        try:
            ensure_postgis(engine)
            migrations.upgrade(engine)
        finally:
            engine.dispose()
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            # FORCE: a benchmark that failed half-way may have left a connection open.
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def truncate(engine: Engine, *tables: sa.Table) -> None:
    """Empty these tables, as new: a fresh file and fresh indexes, no dead rows to skip."""
    names = ", ".join(engine.dialect.identifier_preparer.format_table(t) for t in tables)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {names}"))


def drop_table(engine: Engine, name: str) -> None:
    quoted = engine.dialect.identifier_preparer.quote(name)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {quoted}"))


def libpq_conninfo(url: str) -> tuple[str, dict[str, str]]:
    """`host=… port=… user=… dbname=…` for GDAL's PG: prefix, and the environment to run with.

    The password travels in PGPASSWORD, not on a command line that `ps` shows to everyone.
    """
    parts = urlsplit(url)
    fields = {"host": parts.hostname, "port": parts.port, "user": parts.username,
              "dbname": parts.path.lstrip("/")}
    conninfo = " ".join(f"{k}={unquote(str(v))}" for k, v in fields.items() if v)
    env = dict(os.environ)
    if parts.password:
        env["PGPASSWORD"] = unquote(parts.password)
    return conninfo, env
