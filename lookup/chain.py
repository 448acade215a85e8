"""Who is responsible, in order: the precedence of the responsibility rules, written once.

    component_maintainer   the nearest component's 养护单位
    component_department   else its 主管部门
    responsibility_zone    the zones covering the point for the class, smallest first
    responsibility_list    the district's 权责清单 entry for the class
    territorial_fallback   属地兜底: the office of the street (街道办事处) or town (镇人民政府),
                           as `lookup.offices` names it

A lookup's responsible party is the first of the chain; a case its department returns (退回)
goes to the next party of the same chain that has not had it yet (`candidates`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lookup.offices import Office, office_of, street_offices
from lookup.result import Area, ComponentHit, Party
from lookup.tables import duty, zone

# where the 属地 office's name came from (lookup.offices.Office.source), as a person reads it
OFFICE_SOURCE_ZH = {"responsibility_list": "权责清单", "boundary_file": "街道边界文件",
                    "default": "默认命名（未提供属地责任单位）"}
BASES = ("component_maintainer", "component_department", "responsibility_zone",
         "responsibility_list", "territorial_fallback")


def fallback(street: Area, office: Office | None = None) -> Party:
    """属地兜底: the office of the street the point lies in (`office` as `lookup.offices` names
    it; without one, made from the street's name)."""
    if office is None:
        office = Office(office_of(street.name or street.code), "default")
    named = OFFICE_SOURCE_ZH.get(office.source, office.source)
    return Party(office.name, "territorial_fallback",
                 f"街道（乡镇）{street.code} 属地兜底，单位名称来自{named}")


def chain(*, component: ComponentHit | None, zones: Iterable[tuple[str, str, str]],
          listed: str | None, class_code: str | None, street: Area,
          office: Office | None = None) -> Iterator[Party]:
    """The parties the rules name, in precedence order (lazily: the first is the answer).

    `zones` are (code, name, unit) of the zones that apply to the class at the point, smallest
    first; `listed` is the 权责清单's department for the class; `office` the street's office."""
    if component is not None:
        if component.maintainer:
            yield Party(component.maintainer, "component_maintainer",
                        f"部件 {component.code} 的养护单位")
        if component.department:
            yield Party(component.department, "component_department",
                        f"部件 {component.code} 的主管部门")
    for code, name, unit in zones:
        yield Party(unit, "responsibility_zone", f"责任区域 {code} {name}")
    if class_code and listed:
        yield Party(listed, "responsibility_list", f"权责清单中类别 {class_code} 的责任部门")
    yield fallback(street, office)


def candidates(session: Session, case: Any) -> list[Party]:
    """The chain for a case as it stands now: the component of the intake snapshot, the zones
    and 权责清单 entry current today, the street office as named today; each department once."""
    snap = case.snapshot or {}
    found = snap.get("component")
    component = None
    if found:
        component = ComponentHit(
            code=found.get("code", ""), class_code=found.get("class_code", case.class_code),
            class_name=found.get("class_name"), name=found.get("name"),
            owner=found.get("owner"), maintainer=found.get("maintainer"),
            department=found.get("department"), distance_m=found.get("distance_m") or 0.0)
    key = f"{case.kind}:{case.class_code}"
    zones = session.execute(
        sa.select(zone.c.code, zone.c.name, zone.c.unit).where(
            zone.c.district_code == case.district_code, zone.c.valid_to.is_(None),
            sa.func.ST_Intersects(zone.c.geom, case.geom),
            sa.or_(sa.func.cardinality(zone.c.classes) == 0,
                   sa.literal(key) == sa.func.any(zone.c.classes)))
        .order_by(zone.c.area_m2, zone.c.code)).all()
    listed = session.execute(sa.select(duty.c.department).where(
        duty.c.district_code == case.district_code, duty.c.valid_to.is_(None),
        duty.c.kind == case.kind, duty.c.class_code == case.class_code)).scalar()
    street = snap.get("street") or {}
    area = Area(street.get("code") or case.street_code, street.get("name"))
    office = street_offices(session, case.district_code).get(area.code)
    seen: set[str] = set()
    out = []
    for party in chain(component=component, zones=[tuple(z) for z in zones], listed=listed,
                       class_code=case.class_code, street=area, office=office):
        if party.department not in seen:
            seen.add(party.department)
            out.append(party)
    return out
