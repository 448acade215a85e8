"""The audit log: who did what — imports, rule changes, token changes, case actions — with the
import report or the act's details. Written only through `api.operation`, in the transaction of
the act it records: it stands or falls with it. Append-only for the application's role."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from gis.tables import TIMESTAMPTZ, metadata
from gis.tenancy import tenant

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
    info=tenant(),
)


def record(session: Any, *, district: str, actor: str, role: str, action: str,
           subject: str | None = None, detail: dict[str, Any] | None = None) -> None:
    """Append one audit event (in the caller's transaction)."""
    session.execute(sa.insert(audit_event).values(
        district_code=district, actor=actor, role=role, action=action, subject=subject,
        detail=detail or {}))
