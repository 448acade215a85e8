"""What a lookup answers: one frozen, typed result that the API and the CLI render (`to_dict`,
the lookup JSON of DESIGN.md) and that case intake reads field by field.

The JSON shape is a contract with API clients; the attribute names are a contract with the rest
of the code. Both are written here once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gis.errors import NotFound


class OutsideCoverage(NotFound):
    code = "outside_coverage"
    exit_code = 3


@dataclass(frozen=True, slots=True)
class Area:
    """A district, street or community: its code and name (None when no file named it)."""

    code: str
    name: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name}


@dataclass(frozen=True, slots=True)
class ClassRef:
    code: str
    name: str | None
    kind: str                  # component | event

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "kind": self.kind}


@dataclass(frozen=True, slots=True)
class ComponentHit:
    """A census component near the point, with who owns, maintains and oversees it."""

    code: str
    class_code: str
    class_name: str | None
    name: str | None
    owner: str | None          # 权属单位
    maintainer: str | None     # 养护单位
    department: str | None     # 主管部门
    distance_m: float

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "class_code": self.class_code, "class_name": self.class_name,
                "name": self.name, "owner": self.owner, "maintainer": self.maintainer,
                "department": self.department, "distance_m": self.distance_m}


@dataclass(frozen=True, slots=True)
class Party:
    """A responsible party and the rule that names it (`basis`, one of `chain.BASES`)."""

    department: str
    basis: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"department": self.department, "basis": self.basis, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class LookupResult:
    district: Area
    street: Area
    community: Area
    grid: str
    class_: ClassRef | None
    component: ComponentHit | None
    responsible: Party
    other_grids: tuple[str, ...]               # within the edge tolerance of the point
    other_components: tuple[ComponentHit, ...]  # as near as the component, within the margin
    lon: float
    lat: float

    @property
    def ambiguous(self) -> bool:
        return bool(self.other_grids or self.other_components)

    def to_dict(self) -> dict[str, Any]:
        """The lookup JSON."""
        return {
            "district": self.district.to_dict(), "street": self.street.to_dict(),
            "community": self.community.to_dict(), "grid": {"code": self.grid},
            "class": self.class_.to_dict() if self.class_ else None,
            "component": self.component.to_dict() if self.component else None,
            "responsible": self.responsible.to_dict(),
            "ambiguous": self.ambiguous,
            "alternatives": {"grids": list(self.other_grids),
                             "components": [c.to_dict() for c in self.other_components]},
            "point": {"lon": round(self.lon, 7), "lat": round(self.lat, 7)},
        }
