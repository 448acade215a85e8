"""Database engine and PostGIS bootstrap: one engine per process, sync SQLAlchemy 2 sessions.

`resolve_url` turns settings into a libpq URL (starting the local cluster when DATABASE_URL is
unset); `make_engine` builds the engine; `ensure_postgis` creates the extension when missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from gis.cluster import LocalCluster
from gis.errors import DatabaseUnavailable
from gis.settings import DatabaseSettings


def resolve_url(settings: DatabaseSettings, *, start: bool = True) -> str:
    """The libpq URL of the database to use; the local cluster is started when needed."""
    if settings.database_url:
        return settings.database_url
    cluster = LocalCluster(settings.home, settings.pg_port)
    return cluster.up() if start else cluster.url()


def app_url(settings: DatabaseSettings, admin_url: str) -> str:
    """The URL the HTTP API connects with: as the role row-level security binds."""
    if settings.app_database_url:
        return settings.app_database_url
    from gis.tenancy import APP_ROLE

    parts = urlsplit(admin_url)
    host = parts.hostname or ""
    netloc = f"{APP_ROLE}@{host}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


def as_user_of(url: str, like: str) -> str:
    """`url` (a standby's server and database) as the user, and with the password, of `like`
    (the application role's URL of the primary)."""
    target, source = urlsplit(url), urlsplit(like)
    user = source.netloc.rpartition("@")[0]
    host = target.netloc.rpartition("@")[2]
    return target._replace(netloc=f"{user}@{host}" if user else host).geturl()


def sqlalchemy_url(url: str) -> str:
    """A plain libpq URL (postgresql://…) as SQLAlchemy's psycopg 3 dialect wants it."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in {"postgresql", "postgres", "postgresql+psycopg"}:
        raise DatabaseUnavailable(f"DATABASE_URL {redact(url)!r} 不是 postgresql:// 地址 "
                                  f"(DATABASE_URL {redact(url)!r} is not a postgresql:// URL)")
    return f"postgresql+psycopg://{rest}"


def redact(url: str) -> str:
    """The URL without its password, fit for messages and logs."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


# libpq's parameters for every connection, so that a server that stops answering (a host gone,
# not one that refuses) is found out in seconds: connecting gives up after 5 s, a connection
# unanswered for 10 s is dropped (TCP keepalives, and a user timeout for data not acknowledged);
# a write then answers 503, and a listener connects again.
ALIVE: dict[str, Any] = {"connect_timeout": 5, "keepalives": 1, "keepalives_idle": 5,
                            "keepalives_interval": 2, "keepalives_count": 2,
                            "tcp_user_timeout": 10_000}


def make_engine(url: str, **kwargs: object) -> Engine:
    # Case clocks and working calendars are China Standard Time; timestamps come back in it
    # (after any `options` the URL gives: `?options=-c statement_timeout=5s` is kept).
    given = sa.engine.make_url(sqlalchemy_url(url)).query.get("options")
    options = " ".join(["-c timezone=Asia/Shanghai",
                        *([given] if isinstance(given, str) else list(given or ()))])
    connect_args = {"options": options, **ALIVE}
    return sa.create_engine(sqlalchemy_url(url), pool_pre_ping=True,  # type: ignore[arg-type]
                            connect_args=connect_args, **kwargs)


def check_connection(engine: Engine) -> None:
    with connected(engine) as conn:
        conn.execute(sa.text("SELECT 1"))


@contextmanager
def connected(engine: Engine) -> Iterator[Connection]:
    """A connection of the engine; a server that cannot be reached raises `DatabaseUnavailable`
    naming it (errors of the statements run on the connection pass as they are)."""
    try:
        conn = engine.connect()
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "connection failed"
        where = redact(engine.url.render_as_string(hide_password=True))
        raise DatabaseUnavailable(f"无法连接数据库 {where} (cannot connect to {where}: {reason})"
                                  ) from exc
    with conn:
        yield conn


def ensure_postgis(engine: Engine) -> str:
    """Create the postgis extension if it is missing; return its version."""
    check_connection(engine)
    with engine.begin() as conn:
        installed = conn.execute(
            sa.text("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
        ).scalar()
        if installed:
            return str(installed)
        available = conn.execute(
            sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")
        ).scalar()
        if not available:
            version = conn.execute(sa.text("SHOW server_version_num")).scalar()
            major = int(str(version)) // 10000
            raise DatabaseUnavailable(
                f"这台 PostgreSQL {major} 服务器没有安装 PostGIS：apt-get install "
                f"postgresql-{major}-postgis-3 (PostGIS is not installed on this server)"
            )
        conn.execute(sa.text("CREATE EXTENSION postgis"))
        return str(conn.execute(sa.text("SELECT extversion FROM pg_extension "
                                        "WHERE extname = 'postgis'")).scalar())


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session whose work is committed when the block ends cleanly, rolled back otherwise."""
    with Session(engine) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def lock_timeout(session: Session, seconds: float) -> Iterator[None]:
    """Lock waits in the block give up after `seconds` (`lock_not_available`); the setting
    is as it was when the block ends cleanly (after an error the transaction, or the
    savepoint, is rolled back, and the setting with it)."""
    before = session.execute(sa.text("SELECT current_setting('lock_timeout')")).scalar()
    session.execute(sa.text("SELECT set_config('lock_timeout', :t, true)"),
                    {"t": f"{max(1, round(seconds * 1000))}ms"})
    yield
    session.execute(sa.text("SELECT set_config('lock_timeout', :t, true)"), {"t": before})


def lock_not_available(exc: OperationalError) -> bool:
    """Whether a statement failed because a lock wait hit `lock_timeout`."""
    return getattr(exc.orig, "sqlstate", None) == "55P03"


# The channel on which imports announce "district X changed" to running lookup indexes.
CHANGES = "citygrid_changes"
CASE_EVENTS = "citygrid_cases"   # a case's history grew: {district, number, action, state, …}


def notify(session: Session, channel: str, payload: str) -> None:
    """Tell listeners (the lookup index of running servers) that data changed. PostgreSQL
    delivers the notification when the transaction commits, and never if it rolls back."""
    session.execute(sa.text("SELECT pg_notify(:channel, :payload)"),
                    {"channel": channel, "payload": payload})
