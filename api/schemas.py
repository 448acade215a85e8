"""Response models of the HTTP API: explicit, separate from tables, reused as test oracles."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ErrorDetail(BaseModel):
    code: str
    message: str
    detail: Any = None


class ErrorBody(BaseModel):
    error: ErrorDetail


class Health(BaseModel):
    status: str


class DistrictOut(BaseModel):
    code: str
    name: str
    scheme: str
    grid_digits: int
    crs: str | None
    public_listing: bool
    grids: int


class CommunityOut(BaseModel):
    code: str
    name: str | None
    grids: int
    boundary: bool


class StreetOut(BaseModel):
    code: str
    name: str | None
    grids: int
    boundary: bool
    communities: list[CommunityOut]


class DistrictDetail(DistrictOut):
    streets: list[StreetOut]


class FindingOut(BaseModel):
    kind: str
    severity: str
    grids: list[str]
    area_m2: float | None
    message: str
    where: list[float] | None
    rows: list[int]
    reason: str


class QaReportOut(BaseModel):
    district: str
    source: str
    crs: str
    grids: int
    tolerance_m: float
    area_band_m2: list[float]
    accepted: list[str]
    errors: int
    warnings: int
    counts: dict[str, int]
    findings: list[FindingOut]


class CodeName(BaseModel):
    code: str
    name: str | None


class GridRef(BaseModel):
    code: str


class ClassRef(BaseModel):
    code: str
    name: str | None
    kind: str | None


class ComponentOut(BaseModel):
    code: str
    class_code: str
    class_name: str | None
    name: str | None
    owner: str | None
    maintainer: str | None
    department: str | None
    distance_m: float


class Responsible(BaseModel):
    department: str
    basis: str
    detail: str | None = None


class Alternatives(BaseModel):
    grids: list[str]
    components: list[ComponentOut]


class Point(BaseModel):
    lon: float
    lat: float


class LookupOut(BaseModel):
    """Who is responsible for a point: the lookup contract of DESIGN.md, extended."""

    district: CodeName
    street: CodeName
    community: CodeName
    grid: GridRef
    component: ComponentOut | None
    responsible: Responsible
    ambiguous: bool
    alternatives: Alternatives
    point: Point
    class_: ClassRef | None = Field(default=None, alias="class")

    model_config = ConfigDict(populate_by_name=True)


class BulkPoint(BaseModel):
    lon: float
    lat: float
    crs: str | None = None
    class_: str | None = Field(default=None, alias="class")

    model_config = ConfigDict(populate_by_name=True)


class BulkOut(BaseModel):
    count: int
    located: int
    results: list[dict[str, Any]]
