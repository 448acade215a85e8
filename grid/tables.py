"""Tables of the unit-grid model. Every table of district data has the district code in its key.

Grids are versioned per row: a row is current while `valid_to` is null. Re-importing a changed
grid closes the old row (`valid_to`) and adds a new one, so anything that referred to an old grid
can still find it as it was at any moment.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from gis.tables import TIMESTAMPTZ, Geometry, metadata
from gis.tenancy import tenant

district = sa.Table(
    "district", metadata,
    sa.Column("code", sa.String(6), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("scheme", sa.Text, nullable=False),
    sa.Column("grid_digits", sa.SmallInteger, nullable=False),
    sa.Column("crs", sa.Text),  # projected CRS in metres, e.g. EPSG:4549
    # Open311 lists the district's cases to callers without a token (opt-in)
    sa.Column("public_listing", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", TIMESTAMPTZ, nullable=False, server_default=sa.func.now()),
    sa.Column("updated_at", TIMESTAMPTZ, nullable=False, server_default=sa.func.now()),
    sa.CheckConstraint("code ~ '^[0-9]{6}$'", name="code"),
    sa.CheckConstraint("scheme IN ('legacy', 'gb47678')", name="scheme"),
    sa.CheckConstraint("grid_digits IN (14, 15)", name="grid_digits"),
    info=tenant("code"),
)

street = sa.Table(
    "street", metadata,
    sa.Column("district_code", sa.String(6), sa.ForeignKey("district.code"), primary_key=True),
    sa.Column("code", sa.String(9), primary_key=True),
    sa.Column("name", sa.Text),
    # Own boundary when the county delivered one; null when known only from grid codes.
    sa.Column("boundary", Geometry("MULTIPOLYGON", 4490)),
    # The union of its current grids, for drawing (refreshed by every grid import).
    sa.Column("outline", Geometry("MULTIPOLYGON", 4490)),
    sa.Column("updated_at", TIMESTAMPTZ, nullable=False, server_default=sa.func.now()),
    # 街道, 镇 or 乡, and its office (属地责任单位), as the street boundary file gave them
    sa.Column("kind", sa.Text),
    sa.Column("office", sa.Text),
    sa.CheckConstraint("left(code, 6) = district_code", name="in_district"),
    sa.CheckConstraint("kind IN ('街道', '镇', '乡')", name="kind"),
    info=tenant(),
)

community = sa.Table(
    "community", metadata,
    sa.Column("district_code", sa.String(6), primary_key=True),
    sa.Column("code", sa.String(12), primary_key=True),
    sa.Column("street_code", sa.String(9), nullable=False),
    sa.Column("name", sa.Text),
    sa.Column("boundary", Geometry("MULTIPOLYGON", 4490)),
    sa.Column("outline", Geometry("MULTIPOLYGON", 4490)),
    sa.Column("updated_at", TIMESTAMPTZ, nullable=False, server_default=sa.func.now()),
    sa.ForeignKeyConstraint(["district_code", "street_code"],
                            ["street.district_code", "street.code"]),
    sa.CheckConstraint("left(code, 9) = street_code", name="in_street"),
    info=tenant(),
)

grid_import = sa.Table(
    "grid_import", metadata,
    sa.Column("district_code", sa.String(6), sa.ForeignKey("district.code"), primary_key=True),
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("at", TIMESTAMPTZ, nullable=False, server_default=sa.func.now()),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("report", JSONB, nullable=False),
    info=tenant(),
)

grid = sa.Table(
    "grid", metadata,
    # its district is its import's and its community's (their keys hold it; migration 0016)
    sa.Column("district_code", sa.String(6), primary_key=True),
    sa.Column("code", sa.String(15), primary_key=True),
    sa.Column("valid_from", TIMESTAMPTZ, primary_key=True),
    sa.Column("valid_to", TIMESTAMPTZ),
    sa.Column("street_code", sa.String(9), nullable=False),
    sa.Column("community_code", sa.String(12), nullable=False),
    sa.Column("area_m2", sa.Float, nullable=False),
    sa.Column("attrs", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Column("import_id", sa.BigInteger, nullable=False),
    sa.Column("geom", Geometry("MULTIPOLYGON", 4490), nullable=False),
    sa.ForeignKeyConstraint(["district_code", "community_code"],
                            ["community.district_code", "community.code"]),
    sa.ForeignKeyConstraint(["district_code", "import_id"],
                            ["grid_import.district_code", "grid_import.id"]),
    sa.CheckConstraint("left(code, 12) = community_code", name="in_community"),
    sa.CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="validity"),
    sa.Index("ix_grid_current", "district_code", "code", unique=True,
             postgresql_where=sa.text("valid_to IS NULL")),
    sa.Index("ix_grid_geom", "geom", postgresql_using="gist"),
    info=tenant(),
)
