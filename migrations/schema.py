"""Every table of every domain, registered on the one MetaData (what Alembic compares to)."""

import api.audit  # noqa: F401
import api.tokens  # noqa: F401
import cases.scoring  # noqa: F401
import cases.tables  # noqa: F401
import census.tables  # noqa: F401
import grid.tables  # noqa: F401
import lookup.tables  # noqa: F401
import onboarding.tables  # noqa: F401
from gis.tables import metadata

__all__ = ["include_object", "metadata"]


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    """What Alembic compares: not PostGIS's own table, not the census's district partitions
    (they are made at run time, census/partitions.py)."""
    if type_ == "table":
        return name != "spatial_ref_sys" and not name.startswith("component_")
    table = getattr(obj, "table", None)
    return not (table is not None and table.name.startswith("component_"))
