"""Field-mapping profiles: a city maps its contractors' field names once, every county reuses
the mapping (`--save-profile NAME`, then `--profile NAME`)."""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from census.tables import field_profile
from gis.errors import BadInput, NotFound


class UnknownProfile(NotFound):
    code = "unknown_profile"


def save(session: Session, name: str, kind: str, mapping: Mapping[str, str | None]) -> None:
    if not name.strip():
        raise BadInput("字段映射方案名称为空 (profile name is empty)")
    kept = {k: v for k, v in mapping.items() if v}
    stmt = insert(field_profile).values(name=name.strip(), kind=kind, mapping=kept)
    session.execute(stmt.on_conflict_do_update(
        index_elements=[field_profile.c.name],
        set_={"kind": stmt.excluded.kind, "mapping": stmt.excluded.mapping,
              "updated_at": sa.func.now()}))


def load(session: Session, name: str, kind: str) -> dict[str, str]:
    row = session.execute(sa.select(field_profile).where(field_profile.c.name == name)).first()
    if row is None:
        known = [n for n, in session.execute(sa.select(field_profile.c.name))]
        raise UnknownProfile(f"没有字段映射方案 {name!r}（已有：{'、'.join(known) or '无'}） "
                             f"(no field profile {name!r}; profiles: {', '.join(known) or 'none'})")
    if row.kind != kind:
        raise BadInput(f"字段映射方案 {name!r} 用于 {row.kind}，不是 {kind} "
                       f"(profile {name!r} maps {row.kind}, not {kind})")
    return dict(row.mapping)


def list_profiles(session: Session) -> list[dict[str, object]]:
    rows = session.execute(sa.select(field_profile).order_by(field_profile.c.name))
    return [{"name": r.name, "kind": r.kind, "mapping": r.mapping,
             "updated_at": r.updated_at.isoformat()} for r in rows]
