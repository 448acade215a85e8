"""Responsibility resolution of many points at once (`POST /lookup`, a hotline's backlog): the
same rules as `lookup.resolve.Resolver.resolve`, done column-wise. Points are located with one
STRtree query per district, the nearest components of a class with a k-d tree (point classes)
or the STRtree; only the few close calls (a point near a grid edge, two components at nearly the
same distance) go through the single-point path, which lists their alternatives.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely

from gis.errors import BadInput, DistrictNotServed, NotFound
from lookup.components import ComponentClass
from lookup.index import CORE_MARGIN_M, DistrictIndex
from lookup.resolve import Resolver


def resolve_many(resolver: Resolver, lon: np.ndarray, lat: np.ndarray,
                 classes: Sequence[str | None] | str | None = None,
                 kinds: Sequence[str | None] | str | None = None) -> BulkAnswer:
    """Resolve many points (EPSG:4490) column-wise; answers keep the input order."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    n = len(lon)

    def column(values: Sequence[str | None] | str | None) -> np.ndarray:
        if isinstance(values, str) or values is None:
            return np.full(n, values, dtype=object)
        return np.asarray(values, dtype=object)

    answer = BulkAnswer(resolver, lon, lat, column(classes), column(kinds))
    for d in resolver.index.districts.values():
        minx, miny, maxx, maxy = d.bbox
        sel = np.flatnonzero((answer.grid < 0) & (lon >= minx) & (lon <= maxx)
                             & (lat >= miny) & (lat <= maxy))
        if len(sel):
            _district_many(resolver, d, sel, answer)
    return answer


def _district_many(resolver: Resolver, d: DistrictIndex, sel: np.ndarray,
                   answer: BulkAnswer) -> None:
    x, y = d.frame.xy(answer.lon[sel], answer.lat[sel])
    points = shapely.points(x, y)
    tol = resolver.options.edge_tolerance_m
    p, g = d.grid_local.query(points, predicate="intersects")
    if len(p) > 1 and bool(np.any(p[1:] < p[:-1])):
        order = np.argsort(p, kind="stable")
        p, g = p[order], g[order]
    if not len(p):
        return
    # the containing grid with the lowest code (index order is code order): a point on an
    # edge shared by two grids is in both
    first = np.flatnonzero(np.r_[True, p[1:] != p[:-1]])
    located = p[first]
    grid = np.minimum.reduceat(g, first)
    rows = sel[located]
    answer.grid[rows] = grid
    answer.district[rows] = d.code
    answer.local_points[rows] = points[located]
    # Within the edge tolerance of another grid: only a point outside its grid's core (the
    # grid shrunk by more than the tolerance) can be; those few are counted exactly, as the
    # single-point path does.
    if tol <= CORE_MARGIN_M:
        edge = ~shapely.contains_xy(d.grid_cores[grid], x[located], y[located])
    else:
        edge = np.ones(len(located), dtype=bool)
    edge |= np.diff(np.r_[first, len(p)]) > 1       # in two grids (on an edge, or overlap)
    suspects = located[edge]
    if len(suspects):
        q, _ = d.grid_local.query(points[suspects], predicate="dwithin", distance=tol)
        near = np.bincount(q, minlength=len(suspects)) > 1
        answer.near_grids[sel[suspects[near]]] = True
    asked = answer.classes[rows]
    kinds = answer.kinds[rows]
    for code in {c for c in asked if c}:
        mine = asked == code
        # events, and codes that are an event when asked as one, have no components
        for kind in {k for k in kinds[mine]}:
            if d.kind_of(code, kind) != "component":
                mine &= kinds != kind
        if not mine.any() or code not in d.components:
            continue   # events, unknown classes (an error in that answer), no census
        _components_many(resolver, d, d.components[code], code, located[mine], points, sel,
                         answer)


def _components_many(resolver: Resolver, d: DistrictIndex, cc: ComponentClass, code: str,
                     mine: np.ndarray, points: np.ndarray, sel: np.ndarray,
                     answer: BulkAnswer) -> None:
    """The nearest component of a class within its radius for points `mine` (indexes into
    `points`, whose rows in the answer are `sel`), and whether a second lies within the
    ambiguity margin of the nearest's distance."""
    radius = d.radius(code, resolver.options.radius_m)
    margin = resolver.options.ambiguity_m
    if cc.points is not None:
        xy = shapely.get_coordinates(points[mine])
        # within the radius, the radius included (as dwithin has it)
        dist, idx = cc.points.query(xy, k=2,
                                    distance_upper_bound=np.nextafter(radius, np.inf))
        found = np.isfinite(dist[:, 0])
        best, second = dist[found, 0], dist[found, 1]
        q = np.flatnonzero(found)
        c = idx[found, 0]
        close = second - best <= margin          # inf - x is never ≤ margin
        # the single-point path takes the lowest index among equal distances; the k-d tree
        # orders ties as it likes, so those points (duplicate positions, mostly) go there
        ties = np.flatnonzero(second == best)
        assert cc.cells is not None
        for t in ties:
            near, dd = cc.cells.within(float(xy[q[t], 0]), float(xy[q[t], 1]), radius)
            c[t] = min(zip(dd, near, strict=True))[1]
        answer.component[sel[mine[q]]] = c
        answer.distance[sel[mine[q]]] = best
        answer.near_components[sel[mine[q[close]]]] = True
        return
    assert cc.tree is not None
    (q, c), dist = cc.tree.query_nearest(points[mine], max_distance=radius,
                                         return_distance=True, all_matches=False)
    answer.component[sel[mine[q]]] = c
    answer.distance[sel[mine[q]]] = dist
    # a second component within the ambiguity margin of the nearest
    qq, _ = cc.tree.query(points[mine[q]], predicate="dwithin", distance=dist + margin)
    close = np.bincount(qq, minlength=len(q)) > 1
    answer.near_components[sel[mine[q[close]]]] = True




class BulkAnswer:
    """Columnar answers of `resolve_many`; `item(i)` renders one as the lookup JSON."""

    def __init__(self, resolver: Resolver, lon: np.ndarray, lat: np.ndarray,
                 classes: np.ndarray, kinds: np.ndarray) -> None:
        n = len(lon)
        self.resolver = resolver
        self.lon, self.lat, self.classes, self.kinds = lon, lat, classes, kinds
        self.district = np.full(n, None, dtype=object)
        self.grid = np.full(n, -1, dtype=np.int64)
        self.component = np.full(n, -1, dtype=np.int64)
        self.distance = np.full(n, np.nan)
        self.near_grids = np.zeros(n, dtype=bool)
        self.near_components = np.zeros(n, dtype=bool)
        self.local_points = np.full(n, None, dtype=object)

    def __len__(self) -> int:
        return len(self.lon)

    def item(self, i: int) -> dict[str, Any]:
        """The lookup JSON for point i (as `Resolver.resolve` gives it), or an error object."""
        if self.grid[i] < 0:
            try:
                self.resolver.not_served(float(self.lon[i]), float(self.lat[i]))
            except DistrictNotServed as exc:
                return {"error": {"code": exc.code, "message": exc.message,
                                  "district": exc.district}}
            return {"error": {"code": "outside_coverage",
                              "message": f"点 ({self.lon[i]:.7f}, {self.lat[i]:.7f}) 不在任何"
                                         "已登记区县的单元网格内（经纬度颠倒，或该区县尚未导入？） "
                                         f"(point ({self.lon[i]:.7f}, {self.lat[i]:.7f}) lies in "
                                         "no grid of any district)"}}
        cls = self.classes[i] or None
        kind = self.kinds[i] or None
        lon, lat = float(self.lon[i]), float(self.lat[i])
        try:
            if self.near_grids[i] or self.near_components[i]:
                # ambiguous answers list their alternatives: the single-point path (same rules)
                return self.resolver.resolve(lon, lat, cls, kind).to_dict()
            d = self.resolver.index.districts[self.district[i]]
            ref = self.resolver.class_of(d, cls, kind)
            component = None
            if self.component[i] >= 0 and cls is not None:
                component = self.resolver.component_hit(d, d.components[cls], cls,
                                                        int(self.component[i]),
                                                        float(self.distance[i]))
            return self.resolver.answer(d, int(self.grid[i]), (), lon, lat, ref, component,
                                        (), self.local_points[i]).to_dict()
        except (BadInput, NotFound) as exc:
            return {"error": {"code": exc.code, "message": exc.message}}
