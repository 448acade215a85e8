"""SQL that production runs as written, one way: in `.sql` files of the package that owns it
(`<package>/sql/<name>.sql`), used where SQLAlchemy expressions would cost a measured hot path or
hide what PostgreSQL is asked (COPY staging and merges, vector tiles, evaluation). Statements
take bound parameters (`:name`); database functions made from a file are created from that same
file (`api.tiles.install_functions`), so there is one source for each statement."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import sqlalchemy as sa


@lru_cache(maxsize=64)
def sql_text(package: str, name: str) -> str:
    """The text of `<package>/sql/<name>.sql`."""
    return resources.files(package).joinpath("sql", f"{name}.sql").read_text("utf-8")


def statement(package: str, name: str) -> sa.TextClause:
    """`<package>/sql/<name>.sql` as a statement with bound parameters."""
    return sa.text(sql_text(package, name))
