"""What onboarding keeps: each county's conformance reports (the 检查督办 view lists the latest),
and the rows its imports rejected, with their original attributes and shapes, for the map."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from gis.tables import TIMESTAMPTZ, Geometry, metadata
from gis.tenancy import tenant

conformance_result = sa.Table(
    "conformance_result", metadata,
    sa.Column("district_code", sa.String(6), sa.ForeignKey("district.code"), primary_key=True),
    sa.Column("generated_at", TIMESTAMPTZ, primary_key=True),
    sa.Column("verdict", sa.Text, nullable=False),            # pass | warn | fail
    sa.Column("body", JSONB, nullable=False),                 # conformance.json
    sa.CheckConstraint("verdict IN ('pass', 'warn', 'fail')", name="verdict"),
    info=tenant(),
)

import_reject = sa.Table(
    "import_reject", metadata,
    sa.Column("district_code", sa.String(6), sa.ForeignKey("district.code"), primary_key=True),
    sa.Column("source", sa.Text, primary_key=True),           # the file, as named in reports
    sa.Column("row", sa.Integer, primary_key=True),           # the feature id QGIS shows
    sa.Column("kind", sa.Text, nullable=False),               # grids, census, streets, …
    sa.Column("code", sa.Text),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("reason_zh", sa.Text, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("clashes_with", sa.Integer),                    # a duplicate's earlier row
    sa.Column("attrs", JSONB, nullable=False),                # the row's attributes as read
    sa.Column("geom", Geometry("GEOMETRY", 4490)),
    sa.Column("at", TIMESTAMPTZ, nullable=False, server_default=sa.func.now()),
    sa.Index("ix_import_reject_geom", "geom", postgresql_using="gist"),
    info=tenant(),
)
