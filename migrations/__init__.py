"""Alembic migrations of the whole schema, run by `citygrid db up` and by the test fixtures.

Alembic is imported only to migrate or to compare: every command asks `at_head` at its start,
and a schema already at the newest revision is recognised with one query, without Alembic.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ProgrammingError

from gis.db import connected

if TYPE_CHECKING:
    from alembic.config import Config

HERE = Path(__file__).parent
# Revision files are numbered in the order of one line of history (0001_grid_model.py, …), each
# with `revision = 'NNNN'`; tests/test_database.py holds the last against Alembic's head.
_REVISION = re.compile(r"^revision\s*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)


def _config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["engine"] = engine
    return cfg


def head() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config(None)).get_current_head()  # type: ignore[arg-type]


def newest_file() -> str | None:
    """The revision of the last revision file: Alembic's head while history is one line."""
    files = sorted((HERE / "versions").glob("[0-9]*.py"))
    if not files:
        return None
    found = _REVISION.search(files[-1].read_text("utf-8"))
    return found.group(1) if found else None


def current(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def at_head(engine: Engine) -> bool:
    """Whether the schema is at the newest revision. One query when it is (a command's start
    pays neither Alembic's import nor its reading of every revision file); otherwise Alembic
    decides. A server that cannot be reached raises `DatabaseUnavailable`."""
    with connected(engine) as conn:
        try:
            stored = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()
            revisions = list(stored)
        except ProgrammingError:     # no alembic_version table: never migrated
            revisions = []
    if len(revisions) == 1 and revisions[0] == newest_file():
        return True
    return current(engine) == head()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate, then load the reference data shipped with the package (catalogs, code tables)."""
    from alembic import command

    command.upgrade(_config(engine), revision)
    if revision == "head":
        from api.tiles import install_functions
        from cases.limits import sync_reference_data as cases_reference
        from census.catalog import sync_reference_data as census_reference

        with engine.begin() as conn:
            census_reference(conn)
            cases_reference(conn)
            # functions are code: made from the package's .sql files at every upgrade
            install_functions(conn)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    command.downgrade(_config(engine), revision)
