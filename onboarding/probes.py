"""Sampled lookups against a county as a session sees it (before its import is committed, or
live): the grid of a point inside each of a few grids, and the nearest component of its class at
a few components. What the conformance report's 查询抽检 item counts."""

from __future__ import annotations

import numpy as np
import shapely
import sqlalchemy as sa
from sqlalchemy.orm import Session

from census.tables import component
from grid import store
from grid.districts import District
from lookup.index import LookupIndex
from lookup.resolve import Resolver
from lookup.result import OutsideCoverage
from onboarding.conformance import Probe

PROBES = 12          # grids, and as many components


def sample(n: int, k: int) -> np.ndarray:
    """Up to k indexes spread evenly over range(n): the same ones every run."""
    if n <= k:
        return np.arange(n)
    return np.linspace(0, n - 1, k).round().astype(int)


def probe(s: Session, district: District) -> list[Probe]:
    """Sampled lookups against what was just imported: the grid of a point inside each of a
    few grids, and the nearest component of its class at a few components."""
    resolver = Resolver(LookupIndex.of_session(s, [district.code]))
    grids = store.current_grids(s, district.code)
    probes = []
    for i in sample(len(grids), PROBES):
        g = grids[int(i)]
        at = shapely.point_on_surface(g.geom)
        probes.append(_ask(resolver, "grid", at.x, at.y, g.code, None))
    points = s.execute(
        sa.select(component.c.code, component.c.class_code,
                  sa.func.ST_X(component.c.geom).label("x"),
                  sa.func.ST_Y(component.c.geom).label("y"))
        .where(component.c.district_code == district.code,
               sa.func.GeometryType(component.c.geom) == "POINT",
               component.c.retired_at.is_(None))
        .order_by(component.c.code)).all()
    for i in sample(len(points), PROBES):
        p = points[int(i)]
        probes.append(_ask(resolver, "component", p.x, p.y, p.code, p.class_code))
    return probes


def _ask(resolver: Resolver, what: str, lon: float, lat: float, expected: str,
         class_code: str | None) -> Probe:
    try:
        answer = resolver.resolve(lon, lat, class_code, "component" if class_code else None)
    except OutsideCoverage:
        return Probe(what, lon, lat, expected, None)
    got: str | None
    if what == "grid":
        got = answer.grid
    else:
        near = [answer.component, *answer.other_components]
        got = expected if any(c is not None and c.code == expected for c in near) else (
            answer.component.code if answer.component else None)
    return Probe(what, lon, lat, expected, got)


