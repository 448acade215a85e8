"""Tables of responsibility rules: the district's responsibility list (权责清单: class →
department, and street → the office answering for it, 属地责任单位) and responsibility zones
(polygon × classes → unit, e.g. a sanitation contract area or a park). All are versioned like
grids: a row is current while `valid_to` is null."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from gis.tables import TIMESTAMPTZ, Geometry, metadata
from gis.tenancy import tenant

rules_import = sa.Table(
    "rules_import", metadata,
    sa.Column("district_code", sa.String(6), sa.ForeignKey("district.code"), primary_key=True),
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("at", TIMESTAMPTZ, nullable=False, server_default=sa.func.now()),
    sa.Column("kind", sa.Text, nullable=False),      # list | zones
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("report", JSONB, nullable=False),
    info=tenant(),
)

duty = sa.Table(
    "duty", metadata,
    sa.Column("district_code", sa.String(6), sa.ForeignKey("district.code"), primary_key=True),
    sa.Column("kind", sa.Text, primary_key=True),    # component | event: legacy codes repeat
    sa.Column("class_code", sa.String(5), primary_key=True),
    sa.Column("valid_from", TIMESTAMPTZ, primary_key=True),
    sa.Column("valid_to", TIMESTAMPTZ),
    sa.Column("department", sa.Text, nullable=False),
    sa.Column("radius_m", sa.Float),                 # search radius for components of the class
    sa.Column("note", sa.Text),
    sa.Column("import_id", sa.BigInteger, nullable=False),
    sa.ForeignKeyConstraint(["district_code", "import_id"],
                            ["rules_import.district_code", "rules_import.id"]),
    sa.CheckConstraint("radius_m IS NULL OR radius_m > 0", name="radius"),
    sa.CheckConstraint("kind IN ('component', 'event')", name="kind"),
    sa.Index("ix_duty_current", "district_code", "kind", "class_code", unique=True,
             postgresql_where=sa.text("valid_to IS NULL")),
    info=tenant(),
)

# 属地责任单位: the office a 权责清单 names for a street or town (属地兜底 goes to it)
street_office = sa.Table(
    "street_office", metadata,
    sa.Column("district_code", sa.String(6), sa.ForeignKey("district.code"), primary_key=True),
    sa.Column("street_code", sa.String(9), primary_key=True),
    sa.Column("valid_from", TIMESTAMPTZ, primary_key=True),
    sa.Column("valid_to", TIMESTAMPTZ),
    sa.Column("office", sa.Text, nullable=False),
    sa.Column("import_id", sa.BigInteger, nullable=False),
    sa.ForeignKeyConstraint(["district_code", "street_code"],
                            ["street.district_code", "street.code"]),
    sa.ForeignKeyConstraint(["district_code", "import_id"],
                            ["rules_import.district_code", "rules_import.id"]),
    sa.Index("ix_street_office_current", "district_code", "street_code", unique=True,
             postgresql_where=sa.text("valid_to IS NULL")),
    info=tenant(),
)

zone = sa.Table(
    "zone", metadata,
    sa.Column("district_code", sa.String(6), sa.ForeignKey("district.code"), primary_key=True),
    sa.Column("code", sa.Text, primary_key=True),
    sa.Column("valid_from", TIMESTAMPTZ, primary_key=True),
    sa.Column("valid_to", TIMESTAMPTZ),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("unit", sa.Text, nullable=False),      # the responsible unit
    # "component:0305", "event:0102"; empty: every class
    sa.Column("classes", ARRAY(sa.Text), nullable=False),
    sa.Column("area_m2", sa.Float, nullable=False),
    sa.Column("import_id", sa.BigInteger, nullable=False),
    sa.Column("geom", Geometry("MULTIPOLYGON", 4490), nullable=False),
    sa.ForeignKeyConstraint(["district_code", "import_id"],
                            ["rules_import.district_code", "rules_import.id"]),
    sa.Index("ix_zone_current", "district_code", "code", unique=True,
             postgresql_where=sa.text("valid_to IS NULL")),
    sa.Index("ix_zone_geom", "geom", postgresql_using="gist"),
    info=tenant(),
)
