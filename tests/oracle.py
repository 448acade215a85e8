"""The test oracle of lookups: responsibility resolution by PostGIS alone (`tests/sql/resolve.sql`),
the same rules as `lookup.resolve.Resolver` answered by one SQL statement. Tests hold the
in-memory answers to it; the lookup benchmark uses it as the one-query-per-request comparison."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from grid.codes import StreetCode
from grid.store import StoredStreet
from lookup.offices import choose
from lookup.resolve import LookupOptions, OutsideCoverage

_SQL = sa.text((Path(__file__).parent / "sql" / "resolve.sql").read_text("utf-8"))
_DEG_PER_M = 1 / 90_000.0     # generous: a degree of longitude is about 95 km at 30°N


def resolve_in_postgis(session: Session, lon: float, lat: float, class_code: str | None,
                       kind: str | None = None, options: LookupOptions | None = None,
                       radius_m: float | None = None) -> dict[str, Any]:
    """Grid, component and responsible party for one point (EPSG:4490), by PostGIS.

    `kind` is the class's kind as the lookup settled it (component or event)."""
    opts = options or LookupOptions()
    radius = radius_m or opts.radius_m
    code = class_code or ""
    row = session.execute(_SQL, {
        "lon": lon, "lat": lat, "class_code": code, "kind": kind or "",
        "component_class": code if kind == "component" else "",
        "class_key": f"{kind}:{code}", "radius_m": radius,
        "radius_deg": radius * _DEG_PER_M}).first()
    if row is None:
        raise OutsideCoverage(f"point ({lon:.7f}, {lat:.7f}) lies in no grid of any district")
    component = None
    if row.component_code:
        component = {"code": row.component_code, "name": row.component_name,
                     "owner": row.owner, "maintainer": row.maintainer,
                     "department": row.department, "distance_m": round(row.distance_m, 2)}
    if component and component["maintainer"]:
        responsible = (component["maintainer"], "component_maintainer")
    elif component and component["department"]:
        responsible = (component["department"], "component_department")
    elif row.zone_unit:
        responsible = (row.zone_unit, "responsibility_zone")
    elif row.duty_department:
        responsible = (row.duty_department, "responsibility_list")
    else:
        # 001–099 means 街道 only in a district whose codes reach 100–399 (GB/T 10114)
        numbered = StreetCode(row.street_code).numbered_kind
        if numbered == "街道" and not row.numbered:
            numbered = None
        street = StoredStreet(row.street_code, row.street_name, row.street_kind,
                              row.street_office)
        responsible = (choose(street, row.listed_office, numbered).name, "territorial_fallback")
    return {"district": {"code": row.district_code, "name": row.district_name},
            "street": {"code": row.street_code, "name": row.street_name},
            "community": {"code": row.community_code, "name": row.community_name},
            "grid": {"code": row.grid_code}, "component": component,
            "responsible": {"department": responsible[0], "basis": responsible[1]}}
