"""The one SQLAlchemy MetaData all domain tables register with (Alembic compares against it)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TIMESTAMP

metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

TIMESTAMPTZ = TIMESTAMP(timezone=True)


class Geometry(sa.types.UserDefinedType[str]):
    """A PostGIS column, `geometry(TYPE,SRID)`. Values pass as PostGIS reads and writes them
    (EWKT or hex EWKB in, hex EWKB out): every statement that wants WKB or coordinates asks for
    them (`ST_AsBinary`, `ST_X`, `ST_GeomFromWKB`). GeoAlchemy2's type, which the migrations
    keep, would add 0.1–0.3 s of imports to every command's start for conversions this code
    never uses."""

    cache_ok = True

    def __init__(self, geometry_type: str = "GEOMETRY", srid: int = -1) -> None:
        self.geometry_type = geometry_type.upper()
        self.srid = srid

    def get_col_spec(self, **kw: object) -> str:
        return f"geometry({self.geometry_type},{self.srid})"
