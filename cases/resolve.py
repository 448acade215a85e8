"""Responsibility resolution: a point (and optionally a component or event class) → grid,
community, street, district, the nearest census component of the class, and who is responsible,
with the rule that decided it and any ambiguity.

Rules, first that applies (`basis`):
    component_maintainer / component_department   the component's 养护单位, else its 主管部门
    responsibility_zone                           the smallest zone covering the point for the class
    responsibility_list                           the district's 权责清单 entry for the class
    territorial_fallback                          属地兜底: the street office of the grid

Answers come from the in-memory `LookupIndex`; `resolve_many` does the same work column-wise for
bulk requests. The PostGIS resolution in `cases/sql/resolve.sql` is the reference they are
tested against.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from cases.index import CORE_MARGIN_M, ComponentClass, DistrictIndex, LookupIndex
from census.catalog import UnknownClass
from gis import crs as crsmod
from gis import mapcoords
from gis.errors import BadInput, NotFound

GEOGRAPHIC = {"", "4326", "epsg:4326", "4490", "epsg:4490", "wgs84", "cgcs2000"}


class OutsideCoverage(NotFound):
    code = "outside_coverage"
    exit_code = 3


@dataclass(frozen=True)
class LookupOptions:
    radius_m: float = 30.0           # default search radius for a component class
    edge_tolerance_m: float = 1.0    # a point this close to another grid names it too
    ambiguity_m: float = 1.0         # two components this close in distance are both named


def to_storage(lon: Any, lat: Any, crs: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Longitude/latitude in EPSG:4490 from coordinates in `crs`: an EPSG code, or gcj02/bd09
    (coordinates picked on AMap, Tencent or Baidu maps). EPSG:4326 is taken as EPSG:4490; they
    differ by centimetres."""
    x = np.atleast_1d(np.asarray(lon, dtype=float))
    y = np.atleast_1d(np.asarray(lat, dtype=float))
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise BadInput("lon/lat: coordinates must be finite numbers")
    key = (crs or "").strip().lower()
    if key in mapcoords.NAMES:
        _check_degrees(x, y, crs or "")
        return mapcoords.to_wgs84(x, y, mapcoords.NAMES[key])
    if key in GEOGRAPHIC:
        _check_degrees(x, y, crs or "EPSG:4490")
        return x, y
    source = crsmod.parse_crs(crs or "")
    if source.is_geographic:
        _check_degrees(x, y, crs or "")
    with np.errstate(all="ignore"):
        lo, la = crsmod.reproject_xy(x, y, source, crsmod.STORAGE_CRS)
    lo, la = np.asarray(lo), np.asarray(la)
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(la))):
        raise BadInput(f"lon/lat: coordinates ({x[0]}, {y[0]}) are outside the area of {crs}")
    return lo, la


def point_to_storage(lon: float, lat: float, crs: str | None) -> tuple[float, float]:
    """One point's longitude/latitude in EPSG:4490, as `to_storage` gives them, without numpy
    when the point is already in degrees of EPSG:4490/4326 (what nearly every client sends)."""
    if (crs or "").strip().lower() in GEOGRAPHIC:
        if not (math.isfinite(lon) and math.isfinite(lat)):
            raise BadInput("lon/lat: coordinates must be finite numbers")
        if abs(lon) > 180 or abs(lat) > 90:
            _check_degrees(np.array([lon]), np.array([lat]), crs or "EPSG:4490")
        return lon, lat
    x, y = to_storage(lon, lat, crs)
    return float(x[0]), float(y[0])


def _one(geometry: shapely.Geometry) -> np.ndarray:
    """A one-element array of a geometry, for STRtree.query: cheaper than letting it wrap a
    scalar (numpy inspects the object first), which counts for a single lookup."""
    out = np.empty(1, dtype=object)
    out[0] = geometry
    return out


def _check_degrees(x: np.ndarray, y: np.ndarray, crs: str) -> None:
    bad = (np.abs(x) > 180) | (np.abs(y) > 90)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise BadInput(f"lon/lat: ({x[i]}, {y[i]}) is not a longitude/latitude in {crs}; "
                       "projected coordinates need crs=EPSG:xxxx")


class Resolver:
    def __init__(self, index: LookupIndex, options: LookupOptions | None = None) -> None:
        self.index = index
        self.options = options or LookupOptions()

    # -- one point ------------------------------------------------------------------------------

    def resolve(self, lon: float, lat: float, class_code: str | None = None,
                kind: str | None = None) -> dict[str, Any]:
        """The lookup answer for one point in EPSG:4490 (raises OutsideCoverage).

        `kind` (component or event) settles a legacy code that is both; by default a code is
        a component class when it is one."""
        for d in self.index.districts.values():
            minx, miny, maxx, maxy = d.bbox
            if not (minx <= lon <= maxx and miny <= lat <= maxy):
                continue
            x, y = d.frame.xy(lon, lat)
            point = shapely.Point(x, y)
            near = d.grid_local.query(_one(point), predicate="dwithin",
                                      distance=self.options.edge_tolerance_m)[1]
            if not len(near):
                continue
            near.sort()
            inside = near[shapely.intersects(d.grid_shapes[near], point)]
            if not len(inside):
                continue
            grid = int(inside[0])
            kind, _ = self._class(d, class_code, kind)
            component: dict[str, Any] | None = None
            others: list[dict[str, Any]] = []
            if kind == "component" and class_code in d.components:
                assert class_code is not None
                component, others = self._nearest(d, d.components[class_code], class_code,
                                                  point)
            return self._answer(d, grid, [int(i) for i in near if i != grid], lon, lat,
                                class_code, kind, component, others, point)
        raise OutsideCoverage(f"point ({lon:.7f}, {lat:.7f}) lies in no grid of any district",
                              detail={"lon": lon, "lat": lat})

    def _answer(self, d: DistrictIndex, grid: int, other_grids: list[int], lon: float,
                lat: float, class_code: str | None, kind: str | None,
                component: dict[str, Any] | None, others: list[dict[str, Any]],
                point: shapely.Point) -> dict[str, Any]:
        kind, class_name = self._class(d, class_code, kind)
        grid_code = str(d.grid_codes[grid])
        return {
            "district": {"code": d.code, "name": d.name},
            "street": {"code": grid_code[:9], "name": d.streets.get(grid_code[:9])},
            "community": {"code": grid_code[:12], "name": d.communities.get(grid_code[:12])},
            "grid": {"code": grid_code},
            "class": ({"code": class_code, "name": class_name, "kind": kind}
                      if class_code else None),
            "component": component,
            "responsible": self._responsible(d, grid, kind, class_code, component, point),
            "ambiguous": bool(other_grids or others),
            "alternatives": {"grids": [str(d.grid_codes[i]) for i in other_grids],
                             "components": others},
            "point": {"lon": round(lon, 7), "lat": round(lat, 7)},
        }

    def _class(self, d: DistrictIndex, class_code: str | None,
               kind: str | None = None) -> tuple[str | None, str | None]:
        if not class_code:
            return None, None
        if kind is not None and kind not in ("component", "event"):
            raise BadInput(f"kind: {kind!r} is not component or event")
        found = d.kind_of(class_code, kind)
        if found is None:
            what = f"{kind} class" if kind else "class"
            raise UnknownClass(f"class: {what} {class_code!r} is not in the {d.scheme.value} "
                               f"catalog of district {d.code} ({d.name})")
        return found, d.class_info[(found, class_code)]

    def _nearest(self, d: DistrictIndex, cc: ComponentClass, class_code: str,
                 point: shapely.Point) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        radius = d.radius(class_code, self.options.radius_m)
        found = cc.tree.query(_one(point), predicate="dwithin", distance=radius)[1]
        if not len(found):
            return None, []
        dist = shapely.distance(cc.geoms[found], point)
        order = np.lexsort((found, dist))
        best = int(found[order[0]])
        best_d = float(dist[order[0]])
        others = [self._component(d, cc, class_code, int(found[k]), float(dist[k]))
                  for k in order[1:] if dist[k] - best_d <= self.options.ambiguity_m]
        return self._component(d, cc, class_code, best, best_d), others

    def _component(self, d: DistrictIndex, cc: ComponentClass, class_code: str, i: int,
                   distance: float) -> dict[str, Any]:
        return {
            "code": str(cc.codes[i]), "class_code": class_code,
            "class_name": d.class_info.get(("component", class_code)),
            "name": cc.names[i], "owner": d.orgs.get(int(cc.owner[i])),
            "maintainer": d.orgs.get(int(cc.maintainer[i])),
            "department": d.orgs.get(int(cc.dept[i])), "distance_m": round(distance, 2)}

    def _responsible(self, d: DistrictIndex, grid: int, kind: str | None,
                     class_code: str | None, component: dict[str, Any] | None,
                     point: shapely.Point) -> dict[str, Any]:
        if component is not None:
            if component["maintainer"]:
                return {"department": component["maintainer"], "basis": "component_maintainer",
                        "detail": f"养护单位 of component {component['code']}"}
            if component["department"]:
                return {"department": component["department"], "basis": "component_department",
                        "detail": f"主管部门 of component {component['code']}"}
        if d.zone_tree is not None:
            hits = d.zone_tree.query(point, predicate="intersects")
            key = f"{kind}:{class_code}"
            zones = sorted((d.zones[i] for i in hits
                            if not d.zones[i].classes or key in d.zones[i].classes),
                           key=lambda z: (z.area_m2, z.code))
            if zones:
                z = zones[0]
                return {"department": z.unit, "basis": "responsibility_zone",
                        "detail": f"zone {z.code} {z.name}"}
        if class_code and kind and (kind, class_code) in d.duties:
            return {"department": d.duties[(kind, class_code)]["department"],
                    "basis": "responsibility_list", "detail": f"权责清单 entry for {class_code}"}
        return fallback(d, str(d.grid_codes[grid]))

    # -- many points ----------------------------------------------------------------------------

    def resolve_many(self, lon: np.ndarray, lat: np.ndarray,
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

        answer = BulkAnswer(self, lon, lat, column(classes), column(kinds))
        for d in self.index.districts.values():
            minx, miny, maxx, maxy = d.bbox
            sel = np.flatnonzero((answer.grid < 0) & (lon >= minx) & (lon <= maxx)
                                 & (lat >= miny) & (lat <= maxy))
            if len(sel):
                self._district_many(d, sel, answer)
        return answer

    def _district_many(self, d: DistrictIndex, sel: np.ndarray, answer: BulkAnswer) -> None:
        x, y = d.frame.xy(answer.lon[sel], answer.lat[sel])
        points = shapely.points(x, y)
        tol = self.options.edge_tolerance_m
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
            self._components_many(d, d.components[code], code, located[mine], points, sel,
                                  answer)

    def _components_many(self, d: DistrictIndex, cc: ComponentClass, code: str,
                         mine: np.ndarray, points: np.ndarray, sel: np.ndarray,
                         answer: BulkAnswer) -> None:
        """The nearest component of a class within its radius for points `mine` (indexes into
        `points`, whose rows in the answer are `sel`), and whether a second lies within the
        ambiguity margin of the nearest's distance."""
        radius = d.radius(code, self.options.radius_m)
        margin = self.options.ambiguity_m
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
            for t in ties:
                near = cc.tree.query(points[mine[q[t]]], predicate="dwithin", distance=radius)
                dd = shapely.distance(cc.geoms[near], points[mine[q[t]]])
                c[t] = near[np.lexsort((near, dd))[0]]
            answer.component[sel[mine[q]]] = c
            answer.distance[sel[mine[q]]] = best
            answer.near_components[sel[mine[q[close]]]] = True
            return
        (q, c), dist = cc.tree.query_nearest(points[mine], max_distance=radius,
                                             return_distance=True, all_matches=False)
        answer.component[sel[mine[q]]] = c
        answer.distance[sel[mine[q]]] = dist
        # a second component within the ambiguity margin of the nearest
        qq, _ = cc.tree.query(points[mine[q]], predicate="dwithin", distance=dist + margin)
        close = np.bincount(qq, minlength=len(q)) > 1
        answer.near_components[sel[mine[q[close]]]] = True


def office_of(street: str) -> str:
    """The office of a street (街道办事处) or town (镇/乡人民政府)."""
    if street.endswith("街道"):
        return f"{street}办事处"
    if street.endswith(("镇", "乡")):
        return f"{street}人民政府"
    return f"{street}（属地）"


def fallback(d: DistrictIndex, grid_code: str) -> dict[str, Any]:
    """属地兜底: the office of the street the grid lies in."""
    street = d.streets.get(grid_code[:9]) or grid_code[:9]
    return {"department": office_of(street), "basis": "territorial_fallback",
            "detail": f"street {grid_code[:9]}"}


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
        """The full answer for point i (as `Resolver.resolve` gives it), or an error object."""
        if self.grid[i] < 0:
            return {"error": {"code": "outside_coverage",
                              "message": f"point ({self.lon[i]:.7f}, {self.lat[i]:.7f}) lies in "
                                         "no grid of any district"}}
        cls = self.classes[i] or None
        kind = self.kinds[i] or None
        lon, lat = float(self.lon[i]), float(self.lat[i])
        try:
            if self.near_grids[i] or self.near_components[i]:
                # ambiguous answers list their alternatives: the single-point path (same rules)
                return self.resolver.resolve(lon, lat, cls, kind)
            d = self.resolver.index.districts[self.district[i]]
            component = None
            if self.component[i] >= 0 and cls is not None:
                component = self.resolver._component(d, d.components[cls], cls,
                                                     int(self.component[i]),
                                                     float(self.distance[i]))
            return self.resolver._answer(d, int(self.grid[i]), [], lon, lat, cls, kind,
                                         component, [], self.local_points[i])
        except (BadInput, NotFound) as exc:
            return {"error": {"code": exc.code, "message": exc.message}}
