"""The chain of parties a case's resolution names, in the order the rules apply: used when a
department returns a case (退回) and someone else must take it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from cases.resolve import office_of
from cases.tables import duty, zone


def candidates(session: Session, case: Any) -> list[tuple[str, str]]:
    """(department, basis) pairs: component maintainer and department (from the intake snapshot),
    zones covering the case (smallest first), the 权责清单 entry, the street office."""
    snap = case.snapshot or {}
    out: list[tuple[str, str]] = []
    component = snap.get("component") or {}
    for key, basis in (("maintainer", "component_maintainer"),
                       ("department", "component_department")):
        if component.get(key):
            out.append((component[key], basis))
    class_key = f"{case.kind}:{case.class_code}"
    units = session.execute(
        sa.select(zone.c.unit).where(
            zone.c.district_code == case.district_code, zone.c.valid_to.is_(None),
            sa.func.ST_Intersects(zone.c.geom, case.geom),
            sa.or_(sa.func.cardinality(zone.c.classes) == 0,
                   sa.literal(class_key) == sa.func.any(zone.c.classes)))
        .order_by(zone.c.area_m2, zone.c.code)).scalars()
    out.extend((u, "responsibility_zone") for u in units)
    listed = session.execute(sa.select(duty.c.department).where(
        duty.c.district_code == case.district_code, duty.c.valid_to.is_(None),
        duty.c.kind == case.kind, duty.c.class_code == case.class_code)).scalar()
    if listed:
        out.append((listed, "responsibility_list"))
    street = (snap.get("street") or {})
    out.append((office_of(street.get("name") or street.get("code") or case.street_code),
                "territorial_fallback"))
    seen: set[str] = set()
    unique = []
    for name, basis in out:
        if name not in seen:
            seen.add(name)
            unique.append((name, basis))
    return unique
