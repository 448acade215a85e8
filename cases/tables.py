"""Tables of cases and the reference data their clocks need: the handling manual (立案、处置和
结案标准), the centre's step limits, duplicate windows, the calendar and working periods."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from cases.flow import CENTRE_STEPS
from gis.tables import TIMESTAMPTZ, Geometry, metadata
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

_CENTRE_PAIRS = ", ".join(f"('{step}', '{post}')" for step, post in CENTRE_STEPS)

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
    # the code generation the case was filed under: its class and limits stay in it
    sa.Column("scheme", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("class_code", sa.String(5), nullable=False),
    sa.Column("class_name", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("address", sa.Text),
    sa.Column("media", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column("reporter", JSONB),                                # private: never in public output
    sa.Column("geom", Geometry("POINT", 4490), nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    # accepted from 公众, 12345热线 or 视频: a 监督员 confirms it on site before it is filed
    sa.Column("needs_confirmation", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("department", sa.Text),                            # who is responsible now
    sa.Column("snapshot", JSONB, nullable=False),                # the lookup answer at intake
    sa.Column("grid_code", sa.String(15), nullable=False),
    sa.Column("street_code", sa.String(9), nullable=False),
    sa.Column("community_code", sa.String(12), nullable=False),
    sa.Column("condition_no", sa.SmallInteger),                  # 立案条件, chosen at filing
    sa.Column("stage_no", sa.SmallInteger),
    sa.Column("reported_at", TIMESTAMPTZ, nullable=False),
    sa.Column("accepted_at", TIMESTAMPTZ),
    sa.Column("confirmed_at", TIMESTAMPTZ),
    sa.Column("filed_at", TIMESTAMPTZ),
    sa.Column("dispatched_at", TIMESTAMPTZ),                     # start of the disposal clock
    sa.Column("handled_at", TIMESTAMPTZ),
    sa.Column("checked_at", TIMESTAMPTZ),
    sa.Column("closed_at", TIMESTAMPTZ),
    # the step whose clock runs now (accept, confirm, file, dispatch, dispose, check, close),
    # since when and until when; null while suspended or ended
    sa.Column("step", sa.Text),
    sa.Column("step_started_at", TIMESTAMPTZ),
    sa.Column("step_due_at", TIMESTAMPTZ),
    sa.Column("disposal_due_at", TIMESTAMPTZ),                   # the department's clock
    sa.Column("suspended_at", TIMESTAMPTZ),
    sa.Column("disposal_left_s", sa.Float),                      # working seconds left, 挂账
    sa.Column("pending", JSONB),                                 # the request awaiting approval
    sa.Column("rework_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("return_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("extension_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("urge_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("self_handled", sa.Boolean, nullable=False, server_default=sa.false()),
    # its limits came from the manual's default row ('*'), not a row of its class
    sa.Column("manual_default", sa.Boolean, nullable=False, server_default=sa.false()),
    # a deadline lies beyond the days whose holidays are known: it may still move
    sa.Column("provisional", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("satisfaction", sa.Text),                          # 回访
    sa.Column("updated_at", TIMESTAMPTZ, nullable=False, server_default=sa.func.now()),
    sa.CheckConstraint("state IN ('reported', 'accepted', 'filed', 'dispatched', 'handled', "
                       "'checked', 'closed', 'suspended', 'void')", name="state"),
    sa.CheckConstraint("kind IN ('component', 'event')", name="kind"),
    sa.CheckConstraint("satisfaction IS NULL OR satisfaction IN ('满意', '基本满意', '不满意')",
                       name="satisfaction"),
    sa.Index("ix_case_file_geom", "geom", postgresql_using="gist"),
    sa.Index("ix_case_file_state", "district_code", "state"),
    sa.Index("ix_case_file_class", "district_code", "class_code", "reported_at"),
    # the running clocks (null once ended or while 挂账), with what an evaluation asks of them
    sa.Index("ix_case_file_due", "district_code", "step_due_at",
             postgresql_include=["number", "state", "step", "department", "grid_code",
                                 "street_code", "updated_at"],
             postgresql_where=sa.text("step_due_at IS NOT NULL")),
    # cases changed since a moment and reported before it (an evaluation's few days' worth)
    sa.Index("ix_case_file_updated", "district_code", "updated_at", "reported_at"),
    # cases reported, and filed, in a period: what an evaluation asks of them from the index alone
    sa.Index("ix_case_file_reported", "district_code", "reported_at",
             postgresql_include=["number", "filed_at", "self_handled"]),
    sa.Index("ix_case_file_filed", "district_code", "filed_at",
             postgresql_include=["number", "source", "grid_code"]),
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
    sa.Column("post", sa.Text),                      # who acted: post (none for 公众) …
    sa.Column("person", sa.Text, nullable=False),    # … person …
    sa.Column("department", sa.Text),                # … and a 专业部门's department
    sa.Column("target", sa.Text),                    # the department the action names
    sa.Column("at", TIMESTAMPTZ, nullable=False),
    sa.Column("note", sa.Text),
    # the step whose clock this action ended, and that step's due time
    sa.Column("step", sa.Text),
    sa.Column("due", TIMESTAMPTZ),
    # the step whose clock it started, its due time and who holds it (a post, or a department)
    sa.Column("next_step", sa.Text),
    sa.Column("next_due", TIMESTAMPTZ),
    sa.Column("next_holder", sa.Text),
    sa.Column("detail", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.ForeignKeyConstraint(["district_code", "number"],
                            ["case_file.district_code", "case_file.number"]),
    sa.Index("ix_case_event_at", "district_code", "at"),
    # an evaluation reads the few 返工, approvals and 作废 among a month's events; the disposals,
    # reports and steps, many, from their own indexes alone
    sa.Index("ix_case_event_action", "district_code", "at",
             postgresql_where=sa.text("action IN ('rework', 'approve', 'cancel')")),
    sa.Index("ix_case_event_handle", "district_code", "at",
             postgresql_include=["number", "department", "due"],
             postgresql_where=sa.text("action = 'handle'")),
    sa.Index("ix_case_event_report", "district_code", "at",
             postgresql_include=["number", "post", "person", "to_state"],
             postgresql_where=sa.text("action = 'report'")),
    # the centre's steps done by the post holding them (不予立案 is no 立案): a month's post
    # evaluation reads them from this index alone, without testing each event
    sa.Index("ix_case_event_step", "district_code", "at",
             postgresql_include=["step", "post", "person", "due"],
             postgresql_where=sa.text(f"(step, post) IN ({_CENTRE_PAIRS}) AND action <> 'reject'")),
    info=tenant(),
)

duty_period = sa.Table(
    "duty_period", metadata,
    # the centre's duty hours, every day, holidays included (00:00–00:00: 7×24)
    sa.Column("start", sa.Time, primary_key=True),
    sa.Column("end", sa.Time, nullable=False),
)

calendar_year = sa.Table(
    "calendar_year", metadata,
    # years whose public holidays and 调休 are loaded: deadlines beyond are provisional
    sa.Column("year", sa.SmallInteger, primary_key=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("loaded_at", TIMESTAMPTZ, nullable=False, server_default=sa.func.now()),
)

case_media = sa.Table(
    "case_media", metadata,
    sa.Column("district_code", sa.String(6), primary_key=True),
    sa.Column("number", sa.Text, primary_key=True),
    sa.Column("id", sa.Integer, primary_key=True),            # 1, 2, … within the case
    sa.Column("content_type", sa.Text, nullable=False),       # image/jpeg, image/png, image/webp
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("post", sa.Text),                               # who added it
    sa.Column("person", sa.Text, nullable=False),
    sa.Column("at", TIMESTAMPTZ, nullable=False, server_default=sa.func.now()),
    sa.ForeignKeyConstraint(["district_code", "number"],
                            ["case_file.district_code", "case_file.number"]),
    sa.CheckConstraint("size > 0", name="size"),
    info=tenant(),
)
