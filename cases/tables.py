"""Tables of cases and the reference data their clocks need: the handling manual (立案、处置和
结案标准), the centre's step limits, duplicate windows, the calendar and working periods."""

from __future__ import annotations

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

from gis.tables import TIMESTAMPTZ, metadata
from gis.tenancy import tenant

# -- the handling manual (立案、处置和结案标准) and the working calendar: reference data ----------

handling_rule = sa.Table(
    "handling_rule", metadata,
    # '' is the city's default; a district code overrides the default for that district
    sa.Column("scope", sa.String(6), primary_key=True),
    sa.Column("scheme", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, primary_key=True),
    sa.Column("class_code", sa.String(5), primary_key=True),     # '*': classes not listed
    sa.Column("condition_no", sa.SmallInteger, primary_key=True),  # 立案条件
    sa.Column("stage_no", sa.SmallInteger, primary_key=True),      # staged limits: 停工→处罚→拆除
    sa.Column("filing_condition", sa.Text, nullable=False),
    sa.Column("stage_name", sa.Text),
    sa.Column("limit_value", sa.Float, nullable=False),
    sa.Column("limit_unit", sa.Text, nullable=False),
    sa.Column("closing_condition", sa.Text),                     # 结案条件
    sa.Column("provenance", sa.Text, nullable=False),
    sa.CheckConstraint("limit_unit IN ('hours', 'natural_days', 'working_hours', "
                       "'working_days')", name="unit"),
    sa.CheckConstraint("limit_value >= 0", name="limit"),
)

centre_step = sa.Table(
    "centre_step", metadata,
    sa.Column("scope", sa.String(6), primary_key=True),
    sa.Column("step", sa.Text, primary_key=True),                # accept | dispatch | verify
    sa.Column("limit_value", sa.Float, nullable=False),
    sa.Column("limit_unit", sa.Text, nullable=False),
    sa.Column("note", sa.Text),
)

duplicate_rule = sa.Table(
    "duplicate_rule", metadata,
    # open cases of the same class within radius_m reported in the last window_hours are
    # suggested as duplicates of a new case
    sa.Column("scope", sa.String(6), primary_key=True),
    sa.Column("scheme", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, primary_key=True),
    sa.Column("class_code", sa.String(5), primary_key=True),   # '*': every other class
    sa.Column("radius_m", sa.Float, nullable=False),
    sa.Column("window_hours", sa.Float, nullable=False),
)

calendar_day = sa.Table(
    "calendar_day", metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),                  # holiday | workday (调休)
    sa.Column("name", sa.Text),
    sa.Column("source", sa.Text, nullable=False),
    sa.CheckConstraint("kind IN ('holiday', 'workday')", name="kind"),
)

working_period = sa.Table(
    "working_period", metadata,
    sa.Column("start", sa.Time, primary_key=True),
    sa.Column("end", sa.Time, nullable=False),
)

# -- cases (案卷) --------------------------------------------------------------------------------

case_counter = sa.Table(
    "case_counter", metadata,
    sa.Column("district_code", sa.String(6), sa.ForeignKey("district.code"), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("last", sa.Integer, nullable=False),
    info=tenant(),
)

case_file = sa.Table(
    "case_file", metadata,
    sa.Column("district_code", sa.String(6), sa.ForeignKey("district.code"), primary_key=True),
    sa.Column("number", sa.Text, primary_key=True),              # 341802-20261126-0001
    sa.Column("source", sa.Text, nullable=False),                # 监督员上报, 12345热线, 公众, 视频
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("class_code", sa.String(5), nullable=False),
    sa.Column("class_name", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("address", sa.Text),
    sa.Column("media", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column("reporter", JSONB),                                # private: never in public output
    sa.Column("geom", Geometry("POINT", 4490, spatial_index=False), nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("department", sa.Text),                            # who is responsible now
    sa.Column("snapshot", JSONB, nullable=False),                # the lookup answer at intake
    sa.Column("grid_code", sa.String(15), nullable=False),
    sa.Column("street_code", sa.String(9), nullable=False),
    sa.Column("community_code", sa.String(12), nullable=False),
    sa.Column("condition_no", sa.SmallInteger, nullable=False),
    sa.Column("stage_no", sa.SmallInteger, nullable=False),
    sa.Column("reported_at", TIMESTAMPTZ, nullable=False),
    sa.Column("filed_at", TIMESTAMPTZ),
    sa.Column("dispatched_at", TIMESTAMPTZ),                     # start of the disposal clock
    sa.Column("handled_at", TIMESTAMPTZ),
    sa.Column("closed_at", TIMESTAMPTZ),
    sa.Column("step_due_at", TIMESTAMPTZ),                       # the centre's own clock
    sa.Column("disposal_due_at", TIMESTAMPTZ),                   # the department's clock
    sa.Column("rework_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("return_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("updated_at", TIMESTAMPTZ, nullable=False, server_default=sa.func.now()),
    sa.CheckConstraint("state IN ('reported', 'filed', 'dispatched', 'handled', 'closed', "
                       "'void')", name="state"),
    sa.CheckConstraint("kind IN ('component', 'event')", name="kind"),
    sa.Index("ix_case_file_geom", "geom", postgresql_using="gist"),
    sa.Index("ix_case_file_state", "district_code", "state"),
    sa.Index("ix_case_file_class", "district_code", "class_code", "reported_at"),
    info=tenant(),
)

case_event = sa.Table(
    "case_event", metadata,
    sa.Column("district_code", sa.String(6), primary_key=True),
    sa.Column("number", sa.Text, primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("from_state", sa.Text),
    sa.Column("to_state", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("at", TIMESTAMPTZ, nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("department", sa.Text),
    sa.Column("detail", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.ForeignKeyConstraint(["district_code", "number"],
                            ["case_file.district_code", "case_file.number"]),
    info=tenant(),
)
