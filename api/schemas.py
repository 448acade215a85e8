"""Response models of the HTTP API: explicit, separate from tables, reused as test oracles."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


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
