"""Tables of access control and audit, and the tenant boundary enforced by PostgreSQL.

`api_token` holds hashed API tokens: each is issued to one person (`name`) with a role (what
the token may call), districts, and for the case workflow a post (监督员, 受理员, 值班长,
派遣员, 专业部门 with its department; a 监督员 may name the grids they patrol), expiry and
revocation. `audit_event` records who did what: imports, rule changes, token changes, case
transitions. Every table of district data has row-level security: the application's database
role (`citygrid_app`, which cannot bypass it) sees a row only when its district is among those
the request's token may see (`citygrid.districts`, set per transaction). The CLI works as the
owner: a local administrator.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from gis.tables import TIMESTAMPTZ, metadata

APP_ROLE = "citygrid_app"
DISTRICTS_SETTING = "citygrid.districts"

# (table, column holding the district code) of every table of district data
TENANT_TABLES = (
    ("district", "code"), ("street", "district_code"), ("community", "district_code"),
    ("grid_import", "district_code"), ("grid", "district_code"),
    ("organisation", "district_code"), ("census_import", "district_code"),
    ("component", "district_code"), ("rules_import", "district_code"),
    ("duty", "district_code"), ("zone", "district_code"),
    ("case_counter", "district_code"), ("case_file", "district_code"),
    ("case_event", "district_code"), ("audit_event", "district_code"),
)

api_token = sa.Table(
    "api_token", metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("districts", ARRAY(sa.Text), nullable=False),   # empty for a city administrator
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),  # sha256, hex
    sa.Column("created_at", TIMESTAMPTZ, nullable=False, server_default=sa.func.now()),
    sa.Column("expires_at", TIMESTAMPTZ),
    sa.Column("revoked_at", TIMESTAMPTZ),
    sa.Column("last_used_at", TIMESTAMPTZ),
    sa.Column("post", sa.Text),                        # the person's post in the case workflow
    sa.Column("department", sa.Text),                  # a 专业部门 token's department
    sa.Column("grids", ARRAY(sa.Text), nullable=False,  # a 监督员's patrol grids
              server_default=sa.text("'{}'::text[]")),
    sa.CheckConstraint("role IN ('city_admin', 'district_gis', 'operator', 'api_client', "
                       "'public_intake')", name="role"),
    sa.CheckConstraint("post IS NULL OR post IN ('监督员', '受理员', '值班长', '派遣员', "
                       "'专业部门')", name="post"),
    sa.CheckConstraint("(post = '专业部门') = (department IS NOT NULL)", name="department"),
)

audit_event = sa.Table(
    "audit_event", metadata,
    # '' for events of the whole platform (token changes, catalog changes)
    sa.Column("district_code", sa.String(6), primary_key=True),
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("at", TIMESTAMPTZ, nullable=False, server_default=sa.func.now()),
    sa.Column("actor", sa.Text, nullable=False),       # token:<id> <name>, or cli:<user>
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),      # import.grids, case.dispatch, token.create …
    sa.Column("subject", sa.Text),                     # a file, a case number, a token id
    sa.Column("detail", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
)


def audit(session: Any, *, district: str, actor: str, role: str, action: str,
          subject: str | None = None, detail: dict[str, Any] | None = None) -> None:
    """Append one audit event (in the caller's transaction: it stands or falls with the act)."""
    session.execute(sa.insert(audit_event).values(
        district_code=district, actor=actor, role=role, action=action, subject=subject,
        detail=detail or {}))


def cli_actor() -> str:
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in some containers
        return "cli"
