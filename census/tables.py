"""Tables of the component census.

Reference tables (no district code; shared by every county of the platform, replicated if the
store is ever distributed): the class catalog, the legacy→GB/T 47678 class mapping, the status
code table and the field-mapping profiles. District tables carry the district code in their key.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from gis.tables import TIMESTAMPTZ, Geometry, metadata
from gis.tenancy import tenant

class_catalog = sa.Table(
    "class_catalog", metadata,
    sa.Column("scheme", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, primary_key=True),      # component | event (事件/管理事项)
    sa.Column("code", sa.String(5), primary_key=True),
    sa.Column("major_code", sa.String(2), nullable=False),
    sa.Column("major_name", sa.Text),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("name_en", sa.Text),
    sa.Column("standard", sa.Text, nullable=False),    # CJ/T 214-2007, GB/T 47678.5-2026, local
    sa.Column("provenance", sa.Text, nullable=False),
    sa.Column("national", sa.Boolean, nullable=False),
    sa.Column("loaded_at", TIMESTAMPTZ, nullable=False, server_default=sa.func.now()),
    sa.CheckConstraint("scheme IN ('legacy', 'gb47678')", name="scheme"),
    sa.CheckConstraint("kind IN ('component', 'event')", name="kind"),
    sa.CheckConstraint("(scheme = 'legacy' AND code ~ '^[0-9]{4}$') OR "
                       "(scheme = 'gb47678' AND code ~ '^[0-9]{5}$')", name="code"),
    sa.CheckConstraint("major_code = left(code, 2)", name="major"),
)

class_mapping = sa.Table(
    "class_mapping", metadata,
    sa.Column("legacy_code", sa.String(4), primary_key=True),
    sa.Column("gb47678_code", sa.String(5), nullable=False),
    sa.Column("basis", sa.Text, nullable=False),
)

component_status = sa.Table(
    "component_status", metadata,
    sa.Column("code", sa.Text, primary_key=True),
    sa.Column("in_service", sa.Boolean, nullable=False),
    sa.Column("sort", sa.SmallInteger, nullable=False),
    sa.Column("note", sa.Text),
)

field_profile = sa.Table(
    "field_profile", metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),        # components | grids
    sa.Column("mapping", JSONB, nullable=False),
    sa.Column("updated_at", TIMESTAMPTZ, nullable=False, server_default=sa.func.now()),
)

organisation = sa.Table(
    "organisation", metadata,
    sa.Column("district_code", sa.String(6), sa.ForeignKey("district.code"), primary_key=True),
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("code", sa.Text),                        # as given by the file (local codes too)
    sa.Column("credit_code", sa.String(18)),           # 统一社会信用代码, only when valid
    sa.UniqueConstraint("district_code", "name"),
    info=tenant(),
)

census_import = sa.Table(
    "census_import", metadata,
    sa.Column("district_code", sa.String(6), sa.ForeignKey("district.code"), primary_key=True),
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("at", TIMESTAMPTZ, nullable=False, server_default=sa.func.now()),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("report", JSONB, nullable=False),
    info=tenant(),
)

component = sa.Table(
    "component", metadata,
    # its district is its census import's (that key holds it; migration 0016)
    sa.Column("district_code", sa.String(6), primary_key=True),
    sa.Column("code", sa.String(17), primary_key=True),            # 标识码
    sa.Column("class_code", sa.String(5), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("dept_id", sa.BigInteger),                             # 主管部门
    sa.Column("owner_id", sa.BigInteger),                            # 权属单位
    sa.Column("maintainer_id", sa.BigInteger),                       # 养护单位
    sa.Column("status", sa.Text, sa.ForeignKey("component_status.code")),
    sa.Column("initial_date", sa.Date),                              # 初始日期
    sa.Column("change_date", sa.Date),                               # 变更日期
    sa.Column("data_source", sa.Text),                               # 数据来源
    sa.Column("note", sa.Text),                                      # 备注
    sa.Column("grid_code", sa.String(15), nullable=False),           # assigned spatially
    sa.Column("file_grid_code", sa.String(15)),                      # what the file said
    sa.Column("attrs", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Column("geom", Geometry("GEOMETRY", 4490), nullable=False),
    sa.Column("import_id", sa.BigInteger, nullable=False),
    sa.Column("retired_at", sa.Date),                                # 注销
    sa.Column("retire_reason", sa.Text),
    sa.Column("updated_at", TIMESTAMPTZ, nullable=False, server_default=sa.func.now()),
    sa.ForeignKeyConstraint(["district_code", "dept_id"],
                            ["organisation.district_code", "organisation.id"]),
    sa.ForeignKeyConstraint(["district_code", "owner_id"],
                            ["organisation.district_code", "organisation.id"]),
    sa.ForeignKeyConstraint(["district_code", "maintainer_id"],
                            ["organisation.district_code", "organisation.id"]),
    sa.ForeignKeyConstraint(["district_code", "import_id"],
                            ["census_import.district_code", "census_import.id"]),
    sa.CheckConstraint("left(code, 6) = district_code", name="in_district"),
    sa.Index("ix_component_geom", "geom", postgresql_using="gist"),
    sa.Index("ix_component_class", "district_code", "class_code"),
    # grid_code alone: one district_code in a partition (migration 0017)
    sa.Index("ix_component_grid", "grid_code"),
    # One partition per district (component_341802, …) and a default one: a county's first
    # census is loaded as a table of its own and attached (census/partitions.py).
    postgresql_partition_by="LIST (district_code)",
    info=tenant(),
)
