"""Districts (county-level units, GB/T 2260): the tenant of all district data.

A district records its code scheme, the length of its grid codes and the projected CRS in metres
used for its areas, distances and tolerances.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from pyproj import CRS
from sqlalchemy.orm import Session

from gis import crs as crsmod
from gis.errors import BadInput, NotFound
from grid.codes import BadCode, DistrictCode, GridCode, Scheme
from grid.tables import district as district_t
from grid.tables import grid as grid_t


class UnknownDistrict(NotFound):
    code = "unknown_district"


@dataclass(frozen=True)
class District:
    code: str
    name: str
    scheme: Scheme
    grid_digits: int
    crs: str | None
    public_listing: bool = False      # Open311 lists its cases to callers without a token

    def projected_crs(self) -> CRS | None:
        return crsmod.parse_crs(self.crs) if self.crs else None

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "name": self.name, "scheme": self.scheme.value,
                "grid_digits": self.grid_digits, "crs": self.crs,
                "public_listing": self.public_listing}


def _row_to_district(row: sa.Row) -> District:
    return District(code=row.code, name=row.name, scheme=Scheme(row.scheme),
                    grid_digits=row.grid_digits, crs=row.crs,
                    public_listing=row.public_listing)


def get_district(session: Session, code: str) -> District:
    value = DistrictCode.parse(code).value
    row = session.execute(sa.select(district_t).where(district_t.c.code == value)).first()
    if row is None:
        raise UnknownDistrict(f"区县 {value} 尚未登记，请先用 `citygrid district add {value} "
                              f"--name 名称` 登记 (district {value} is not registered)")
    return _row_to_district(row)


def list_districts(session: Session) -> list[District]:
    rows = session.execute(sa.select(district_t).order_by(district_t.c.code))
    return [_row_to_district(r) for r in rows]


def add_district(session: Session, code: str, *, name: str | None, scheme: str | None = None,
                 grid_digits: int | None = None, crs: str | None = None,
                 public_listing: bool | None = None) -> tuple[District, bool]:
    """Register a district, or update it when it exists. Returns (district, created)."""
    value = DistrictCode.parse(code).value
    existing = session.execute(
        sa.select(district_t).where(district_t.c.code == value).with_for_update()).first()
    old = _row_to_district(existing) if existing else None
    if name is not None and not name.strip():
        raise BadInput("区县名称为空 (district name is empty)")
    if old is None and not name:
        raise BadInput(f"区县 {value} 是新登记的，请用 --name 给出名称 "
                       f"(district {value} is new: give its name with --name)")
    new_scheme = Scheme.parse(scheme) if scheme else (old.scheme if old else Scheme.LEGACY)
    if grid_digits is not None:
        digits = int(grid_digits)
    elif old is not None and new_scheme is old.scheme:
        digits = old.grid_digits
    else:
        digits = new_scheme.default_grid_digits
    if digits not in new_scheme.allowed_grid_digits:
        allowed = new_scheme.allowed_grid_digits
        raise BadInput(f"--grid-digits {digits} 不符合编码标准 {new_scheme.value}（可用 "
                       f"{'、'.join(map(str, allowed))}） (--grid-digits {digits} does not fit "
                       f"scheme {new_scheme.value})")
    new_crs = old.crs if old else None
    if crs:
        parsed = crsmod.require_projected_metres(crsmod.parse_crs(crs), "--crs")
        new_crs = crsmod.describe(parsed)
    listing = public_listing if public_listing is not None else (
        old.public_listing if old else False)
    merged = District(code=value, name=(name or (old.name if old else "")).strip(),
                      scheme=new_scheme, grid_digits=digits, crs=new_crs,
                      public_listing=listing)
    if old is not None and (old.scheme, old.grid_digits) != (merged.scheme, merged.grid_digits):
        _check_grids_fit(session, merged)
    values = {"name": merged.name, "scheme": merged.scheme.value, "grid_digits": digits,
              "crs": new_crs, "public_listing": listing}
    if old is None:
        session.execute(sa.insert(district_t).values(code=value, **values))
    else:
        session.execute(sa.update(district_t).where(district_t.c.code == value)
                        .values(updated_at=sa.func.now(), **values))
        if old.crs != new_crs and new_crs:
            _recompute_areas(session, merged)
    return merged, old is None


def set_crs(session: Session, code: str, crs: CRS) -> None:
    session.execute(sa.update(district_t).where(district_t.c.code == code)
                    .values(crs=crsmod.describe(crs), updated_at=sa.func.now()))


def _check_grids_fit(session: Session, d: District) -> None:
    codes = session.scalars(sa.select(grid_t.c.code).where(
        grid_t.c.district_code == d.code, grid_t.c.valid_to.is_(None)))
    for code in codes:
        try:
            GridCode.parse(code, scheme=d.scheme, digits=d.grid_digits, district=d.code)
        except BadCode as exc:
            raise BadInput(f"区县 {d.code} 已有的网格不符合编码标准 {d.scheme.value}"
                           f"（{d.grid_digits} 位网格编码）：{exc.message}") from None


def _recompute_areas(session: Session, d: District) -> None:
    """Areas are measured in the district CRS; a new CRS means new areas."""
    from grid import store

    target = d.projected_crs()
    assert target is not None
    store.recompute_areas(session, d.code, target)
