"""Migrating a legacy census (CJ/T 214: 4-digit classes, 16-digit 标识码) to GB/T 47678
(5-digit classes, 17-digit 标识码).

Classes do not convert by padding (the order changes after 0113), so each legacy class needs an
explicit mapping: the shipped one (names that match, `census/catalog/legacy_to_gb47678.csv`) or
one the operator gives (`--map 0114=01023`). If any class present in the census has none, nothing
is converted and the report lists what could not be mapped. The serial keeps its 6 digits; grid
codes are left as they are (a district keeps its 14-digit grids until it re-imports them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from census import catalog
from census.tables import component
from gis.db import CHANGES, notify
from gis.errors import BadInput
from grid.codes import Scheme
from grid.districts import get_district
from grid.locks import lock_district
from grid.tables import district as district_t


@dataclass
class ConvertReport:
    district: str
    status: str = "ok"          # ok | refused
    dry_run: bool = False
    converted: int = 0
    classes: list[dict[str, Any]] = field(default_factory=list)
    unmapped: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"district": self.district, "status": self.status, "dry_run": self.dry_run,
                "converted": self.converted, "classes": self.classes,
                "unmapped": self.unmapped}

    def summary(self) -> str:
        n = len(self.unmapped)
        if self.status == "refused":
            listed_zh = "、".join(f"{u['legacy_code']} {u['name']}（{u['components']} 个）"
                                  for u in self.unmapped)
            listed = ", ".join(f"{u['legacy_code']} {u['name']} ({u['components']})"
                               for u in self.unmapped)
            return (f"区县 {self.district} 的部件未转换：{n} 个类别没有对应的 GB/T 47678 类别："
                    f"{listed_zh}；请用 --map 旧类别=新类别 逐个指定 "
                    f"(census of {self.district} not converted: {n} classes have "
                    f"no GB/T 47678 mapping: {listed}; give each with --map OLD=NEW)")
        verb = "would convert" if self.dry_run else "converted"
        verb_zh = "试转换" if self.dry_run else "已转换"
        return (f"区县 {self.district} 的部件{verb_zh}为 gb47678：{len(self.classes)} 个类别，"
                f"{self.converted} 个部件 (census of {self.district} {verb} to gb47678: "
                f"{self.converted} components in {len(self.classes)} classes)")


def convert_census(session: Session, district_code: str, *, to: str = "gb47678",
                   extra: Mapping[str, str] | None = None, dry_run: bool = False
                   ) -> ConvertReport:
    """Convert the census; the caller commits (or rolls back a dry run or refusal)."""
    if Scheme.parse(to) is not Scheme.GB47678:
        raise BadInput(f"只能转换为 gb47678，不能转换为 {to!r} "
                       f"(can only convert to gb47678, not {to!r})")
    lock_district(session, district_code, "census.convert")
    district = get_district(session, district_code)
    if district.scheme is not Scheme.LEGACY:
        raise BadInput(f"区县 {district.code} 已采用编码标准 {district.scheme.value} "
                       f"(district {district.code} is already on scheme {district.scheme.value})")
    old_classes = catalog.classes(session, Scheme.LEGACY, "component")
    new_classes = catalog.classes(session, Scheme.GB47678, "component")
    mapping = {k: (v, basis) for k, (v, basis) in catalog.mapping_to_gb47678(session).items()}
    for old, new in (extra or {}).items():
        if old not in old_classes:
            raise BadInput(f"--map {old}={new}：{old} 不是 legacy 部件类别 "
                           f"(--map {old}={new}: {old} is not a legacy component class)")
        if new not in new_classes:
            raise BadInput(f"--map {old}={new}：{new} 不是 GB/T 47678 部件类别 "
                           f"(--map {old}={new}: {new} is not a GB/T 47678 component class)")
        mapping[old] = (new, "given by the operator")
    counts = session.execute(
        sa.select(component.c.class_code, sa.func.count())
        .where(component.c.district_code == district.code)
        .group_by(component.c.class_code).order_by(component.c.class_code)).all()
    report = ConvertReport(district=district.code, dry_run=dry_run)
    for code, n in counts:
        name = old_classes[code].name if code in old_classes else None
        if code in mapping:
            new, basis = mapping[code]
            report.classes.append({"legacy_code": code, "name": name, "gb47678_code": new,
                                   "gb47678_name": new_classes[new].name, "basis": basis,
                                   "components": n})
        else:
            report.unmapped.append({"legacy_code": code, "name": name, "components": n})
    if report.unmapped:
        report.status = "refused"
        return report
    pairs = [(c["legacy_code"], c["gb47678_code"]) for c in report.classes]
    if pairs:
        result = session.execute(sa.text(
            "UPDATE component c SET code = c.district_code || m.new || right(c.code, 6), "
            "class_code = m.new, updated_at = now() "
            "FROM unnest(CAST(:old AS text[]), CAST(:new AS text[])) AS m(old, new) "
            "WHERE c.district_code = :district AND c.class_code = m.old"),
            {"old": [p[0] for p in pairs], "new": [p[1] for p in pairs],
             "district": district.code})
        report.converted = int(result.rowcount)  # type: ignore[attr-defined]
    session.execute(sa.update(district_t).where(district_t.c.code == district.code)
                    .values(scheme=Scheme.GB47678.value, updated_at=sa.func.now()))
    # running servers reload the district: its scheme, class codes and component codes changed
    notify(session, CHANGES, f"components:{district.code}")
    return report
