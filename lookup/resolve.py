"""Responsibility resolution of one point: (and optionally a component or event class) → grid,
community, street, district, the nearest census component of the class, and who is responsible,
with the rule that decided it (`lookup.chain`) and any ambiguity.

Answers come from the in-memory `LookupIndex`, never from the database; `lookup.bulk` does the
same work column-wise for many points. The tests hold both to a PostGIS resolution of the same
rules (tests/oracle.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import shapely
from shapely import STRtree, lib

from census.catalog import UnknownClass
from gis.errors import BadInput, DistrictNotServed
from lookup.chain import chain
from lookup.components import ComponentClass
from lookup.index import DistrictIndex, LookupIndex
from lookup.result import Area, ClassRef, ComponentHit, LookupResult, OutsideCoverage, Party

__all__ = ["LookupOptions", "OutsideCoverage", "Resolver"]


@dataclass(frozen=True)
class LookupOptions:
    radius_m: float = 30.0           # default search radius for a component class
    edge_tolerance_m: float = 1.0    # a point this close to another grid names it too
    ambiguity_m: float = 1.0         # two components this close in distance are both named


_DISTANCES: dict[float, np.ndarray] = {}
_NAN_ALLOWED = np.intc(0)   # shapely.HandleNaN.allow: NaN never gets past the bounding-box test


def _point(x: float, y: float) -> np.ndarray:
    """A one-element array of the point (x, y), from shapely's compiled constructor: a third of
    the time of `shapely.Point(x, y)`, whose checks a single lookup would pay for each call."""
    return lib.points(np.array(((x, y),)), _NAN_ALLOWED)  # type: ignore[no-any-return]


def _within(tree: STRtree, one: np.ndarray, distance: float) -> np.ndarray:
    """The indices of the tree's geometries within `distance` of the one geometry in `one`:
    `tree.query(one, predicate="dwithin", distance=distance)[1]`, asked of shapely's compiled
    tree directly. The public method checks and broadcasts its arguments with numpy on every
    call, which cost a single lookup as much as both of its tree queries (bench/lookup.py)."""
    distances = _DISTANCES.get(distance)
    if distances is None:
        distances = _DISTANCES.setdefault(distance, np.full(1, distance, dtype="float64"))
    return tree._tree.dwithin(one, distances)[1]  # type: ignore[no-any-return]


class Resolver:
    def __init__(self, index: LookupIndex, options: LookupOptions | None = None) -> None:
        self.index = index
        self.options = options or LookupOptions()

    def resolve(self, lon: float, lat: float, class_code: str | None = None,
                kind: str | None = None) -> LookupResult:
        """The answer for one point in EPSG:4490 (raises OutsideCoverage).

        `kind` (component or event) settles a legacy code that is both; by default a code is
        a component class when it is one."""
        for d in self.index.districts.values():
            minx, miny, maxx, maxy = d.bbox
            if not (minx <= lon <= maxx and miny <= lat <= maxy):
                continue
            x, y = d.frame.xy(lon, lat)
            one = _point(x, y)
            point = one[0]
            near = _within(d.grid_local, one, self.options.edge_tolerance_m)
            if not len(near):
                continue
            near.sort()
            inside = near[shapely.intersects(d.grid_shapes[near], point)]
            if not len(inside):
                continue
            grid = int(inside[0])
            cls = self.class_of(d, class_code, kind)
            component: ComponentHit | None = None
            others: tuple[ComponentHit, ...] = ()
            if cls is not None and cls.kind == "component" and cls.code in d.components:
                component, others = self._nearest(d, d.components[cls.code], cls.code, x, y,
                                                   one)
            return self.answer(d, grid, tuple(str(d.grid_codes[int(i)]) for i in near
                                              if i != grid),
                               lon, lat, cls, component, others, point)
        self.not_served(lon, lat)
        raise OutsideCoverage(f"点 ({lon:.7f}, {lat:.7f}) 不在任何已登记区县的单元网格内"
                              "（经纬度颠倒，或该区县尚未导入？） "
                              f"(point ({lon:.7f}, {lat:.7f}) lies in no grid of any district)",
                              detail={"lon": lon, "lat": lat})

    def not_served(self, lon: float, lat: float) -> None:
        """Raise DistrictNotServed when the point lies in a district this process does not
        serve (CITYGRID_DISTRICTS)."""
        elsewhere = self.index.elsewhere
        code = elsewhere.at(lon, lat) if elsewhere is not None else None
        if code is not None:
            raise DistrictNotServed(code)

    def answer(self, d: DistrictIndex, grid: int, other_grids: tuple[str, ...], lon: float,
               lat: float, cls: ClassRef | None, component: ComponentHit | None,
               others: tuple[ComponentHit, ...], point: shapely.Point) -> LookupResult:
        """The result for a point located in grid `grid` of district `d` (point in its local
        frame), its component found or not."""
        grid_code = str(d.grid_codes[grid])
        memo = d.memo
        key = ("areas", grid_code[:12])
        areas = memo.get(key)
        if areas is None:
            areas = memo[key] = (Area(grid_code[:9], d.streets.get(grid_code[:9])),
                                 Area(grid_code[:12], d.communities.get(grid_code[:12])),
                                 Area(d.code, d.name))
        street, community, district = areas
        return LookupResult(
            district=district, street=street, community=community,
            grid=grid_code, class_=cls, component=component,
            responsible=self._responsible(d, cls, component, street, point),
            other_grids=other_grids, other_components=others, lon=lon, lat=lat)

    def class_of(self, d: DistrictIndex, class_code: str | None,
                 kind: str | None = None) -> ClassRef | None:
        """The class asked for, in the district's scheme (raises UnknownClass)."""
        if not class_code:
            return None
        if kind is not None and kind not in ("component", "event"):
            raise BadInput(f"kind：{kind!r} 应为 component（部件）或 event（事件） "
                           f"(kind: {kind!r} is not component or event)")
        key = ("class", class_code, kind or "")
        ref: ClassRef | None = d.memo.get(key)
        if ref is not None:
            return ref
        found = d.kind_of(class_code, kind)
        if found is None:
            what = f"{kind} class" if kind else "class"
            raise UnknownClass(f"class：{'部件' if kind == 'component' else '事件' if kind else ''}"
                               f"类别 {class_code!r} 不在区县 {d.code}（{d.name}）的 "
                               f"{d.scheme.value} 分类代码表中 "
                               f"(class: {what} {class_code!r} is not in the {d.scheme.value} "
                               f"catalog of district {d.code}, {d.name})")
        ref = d.memo[key] = ClassRef(class_code, d.class_info[(found, class_code)], found)
        return ref

    def _nearest(self, d: DistrictIndex, cc: ComponentClass, class_code: str, x: float,
                 y: float, one: np.ndarray) -> tuple[ComponentHit | None,
                                                     tuple[ComponentHit, ...]]:
        """The nearest component of the class within its radius of the point (x, y; `one`: a
        one-element array of it), and those as near as it within the ambiguity; of equal
        distances, the lowest index (code order)."""
        radius = d.radius(class_code, self.options.radius_m)
        if cc.cells is not None:
            found, dist = cc.cells.within(x, y, radius)
        else:
            assert cc.tree is not None and cc.geoms is not None
            hits = _within(cc.tree, one, radius)
            found, dist = hits.tolist(), shapely.distance(cc.geoms[hits], one[0]).tolist()
        if not found:
            return None, ()
        if len(found) == 1:
            return self.component_hit(d, cc, class_code, found[0], dist[0]), ()
        # the nearest, of equal distances the lowest index (code order), and those within the
        # ambiguity margin of it
        ranked = sorted(zip(dist, found, strict=True))
        best_d, best = ranked[0]
        others = tuple(self.component_hit(d, cc, class_code, i, di) for di, i in ranked[1:]
                       if di - best_d <= self.options.ambiguity_m)
        return self.component_hit(d, cc, class_code, best, best_d), others

    @staticmethod
    def component_hit(d: DistrictIndex, cc: ComponentClass, class_code: str, i: int,
                      distance: float) -> ComponentHit:
        """Component `i` of a class, found at `distance` metres."""
        return ComponentHit(
            code=cc.code(i), class_code=class_code,
            class_name=d.class_info.get(("component", class_code)), name=cc.name(i),
            owner=d.orgs.get(int(cc.owner[i])), maintainer=d.orgs.get(int(cc.maintainer[i])),
            department=d.orgs.get(int(cc.dept[i])), distance_m=round(distance, 2))

    @staticmethod
    def _responsible(d: DistrictIndex, cls: ClassRef | None, component: ComponentHit | None,
                     street: Area, point: shapely.Point) -> Party:
        def zones() -> Iterator[tuple[str, str, str]]:
            # a generator: the chain asks for zones only when no component decided
            if d.zone_tree is None:
                return
            key = f"{cls.kind}:{cls.code}" if cls else ":"
            hits = d.zone_tree.query(point, predicate="intersects")
            applies = sorted((d.zones[i] for i in hits
                              if not d.zones[i].classes or key in d.zones[i].classes),
                             key=lambda z: (z.area_m2, z.code))
            yield from ((z.code, z.name, z.unit) for z in applies)

        listed = d.duties.get((cls.kind, cls.code)) if cls else None
        return next(chain(component=component, zones=zones(),
                          listed=listed["department"] if listed else None,
                          class_code=cls.code if cls else None, street=street,
                          office=d.offices.get(street.code)))
