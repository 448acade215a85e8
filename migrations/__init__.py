"""Alembic migrations of the whole schema, run by `citygrid db up` and by the test fixtures."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

HERE = Path(__file__).parent


def _config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["engine"] = engine
    return cfg


def head() -> str | None:
    return ScriptDirectory.from_config(_config(None)).get_current_head()  # type: ignore[arg-type]


def current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate, then load the reference data shipped with the package (catalogs, code tables)."""
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
    command.downgrade(_config(engine), revision)
