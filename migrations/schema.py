"""Every table of every domain, registered on the one MetaData (what Alembic compares to)."""

import cases.tables  # noqa: F401
import census.tables  # noqa: F401
import gis.security  # noqa: F401
import grid.tables  # noqa: F401
from gis.tables import metadata

__all__ = ["metadata"]
