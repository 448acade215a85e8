"""Grid topology QA: overlaps, gaps, duplicate and malformed codes, invalid geometries, nesting
and area outliers, measured in metres in the district's CRS.

`check_grids` takes plain `GridShape`s (from a file or from the database) and returns findings; it
writes nothing. Overlaps and gaps count only where they are thicker than the tolerance, so the
slivers that digitising and reprojection leave behind do not drown the real problems.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from pyproj import CRS
from shapely import STRtree
from shapely.geometry import Polygon

from gis.geometry import lonlat, problem_location, problem_zh, problems, thicker_than
from grid.codes import BadCode, GridCode, Scheme

ERROR, WARNING = "error", "warning"
STORED = "stored grids"
SEVERITY = {
    "invalid_geometry": ERROR,
    "malformed_code": ERROR,
    "duplicate_code": ERROR,
    "overlap": ERROR,
    "gap": ERROR,
    "nesting": ERROR,
    "area": WARNING,
    "name_conflict": WARNING,
}
# Import reject reasons of the rows a finding concerns (DESIGN.md's stable words).
REASONS = {"malformed_code": "bad_code", "duplicate_code": "duplicate"}
UNIT_GRID_NORM_M2 = 10_000.0
# finding kinds and levels, as a person reads them
KINDS_ZH = {"invalid_geometry": "几何图形无效", "malformed_code": "编码格式不对",
            "duplicate_code": "编码重复", "overlap": "重叠", "gap": "缝隙",
            "nesting": "跨越社区或街道边界", "area": "面积异常", "name_conflict": "名称不一致"}
LEVEL_ZH = {"street": "街道", "community": "社区"}


@dataclass(frozen=True)
class QaOptions:
    tolerance_m: float = 0.05
    area_band_m2: tuple[float, float] = (0.2 * UNIT_GRID_NORM_M2, 5.0 * UNIT_GRID_NORM_M2)
    accept: frozenset[str] = frozenset()   # kinds the user accepts: reported as warnings

    def severity(self, kind: str) -> str:
        return WARNING if kind in self.accept else SEVERITY[kind]


@dataclass(frozen=True)
class GridShape:
    code: str | None                 # as read, stripped
    geom: shapely.Geometry | None    # projected, metres
    row: int | None = None           # the feature id QGIS shows; None for stored grids
    street_code: str | None = None   # the file's own street/community code fields, if any
    community_code: str | None = None
    street_name: str | None = None
    community_name: str | None = None

    @property
    def label(self) -> str:
        if self.code:
            return self.code
        return f"要素 {self.row}"


@dataclass(frozen=True)
class Finding:
    kind: str
    severity: str
    grids: tuple[str, ...]
    message: str
    area_m2: float | None = None
    where: tuple[float, float] | None = None   # lon, lat (EPSG:4490)
    rows: tuple[int, ...] = ()
    reason: str = ""   # the import reject reason for the rows concerned

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "severity": self.severity, "grids": list(self.grids),
                "area_m2": None if self.area_m2 is None else round(self.area_m2, 2),
                "message": self.message, "where": list(self.where) if self.where else None,
                "rows": list(self.rows), "reason": self.reason}


@dataclass
class QaReport:
    """The findings of one QA run; `source` is a file, or `STORED` for the grids in store."""

    district: str
    source: str
    crs: str
    options: QaOptions
    grids: int
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]

    def to_dict(self) -> dict[str, Any]:
        return {
            "district": self.district, "source": self.source, "crs": self.crs,
            "grids": self.grids, "tolerance_m": self.options.tolerance_m,
            "area_band_m2": list(self.options.area_band_m2),
            "accepted": sorted(self.options.accept),
            "errors": len(self.errors), "warnings": len(self.warnings),
            "counts": dict(Counter(f.kind for f in self.findings).most_common()),
            "findings": [f.to_dict() for f in self.findings],
        }

    def summary(self) -> str:
        """One line: Chinese, then English."""
        counts = Counter(f.kind for f in self.findings).most_common()
        detail = ", ".join(f"{k} {v}" for k, v in counts) or "no findings"
        detail_zh = "，".join(f"{KINDS_ZH.get(k, k)} {v}" for k, v in counts) or "未发现问题"
        source = "库中现有网格" if self.source == STORED else self.source
        return (f"区县 {self.district} 单元网格质量检查（{source}，{self.grids} 个网格）："
                f"{len(self.errors)} 个错误，{len(self.warnings)} 个警告（{detail_zh}） "
                f"(QA of {self.grids} grids of {self.district} ({self.source}): "
                f"{len(self.errors)} errors, {len(self.warnings)} warnings ({detail}))")


def check_grids(shapes: Sequence[GridShape], *, district: str, scheme: Scheme, grid_digits: int,
                crs: CRS, options: QaOptions | None = None,
                streets: Mapping[str, shapely.Geometry] | None = None,
                communities: Mapping[str, shapely.Geometry] | None = None) -> list[Finding]:
    """All findings for these grids; boundaries (projected, like the shapes) enable nesting."""
    rows = check_rows(shapes, district=district, scheme=scheme, grid_digits=grid_digits,
                      crs=crs, options=options)
    return rows.findings + check_layout(rows, streets=streets, communities=communities)


@dataclass
class RowChecks:
    """What `check_rows` found, and what `check_layout` goes on from: the shapes with a usable
    geometry, and the codes that parse."""

    shapes: Sequence[GridShape]
    crs: CRS
    options: QaOptions
    findings: list[Finding]
    usable: list[int]
    parsed: dict[int, GridCode]


@dataclass
class _Found:
    """Findings as they are made: where each is (lon/lat) and how severe."""

    crs: CRS
    options: QaOptions
    findings: list[Finding] = field(default_factory=list)

    def add(self, kind: str, items: Sequence[GridShape], message: str, *,
            area: float | None = None, at: shapely.Geometry | None = None,
            xy: tuple[float, float] | None = None, reason: str | None = None) -> None:
        where = None
        if at is not None and not at.is_empty:
            p = shapely.point_on_surface(at)
            where = lonlat(p.x, p.y, self.crs)
        elif xy is not None:
            where = lonlat(xy[0], xy[1], self.crs)
        self.findings.append(Finding(kind, self.options.severity(kind),
                                     tuple(s.label for s in items), message, area, where,
                                     tuple(s.row for s in items if s.row is not None),
                                     reason or REASONS.get(kind, kind)))


def check_rows(shapes: Sequence[GridShape], *, district: str, scheme: Scheme, grid_digits: int,
               crs: CRS, options: QaOptions | None = None) -> RowChecks:
    """The findings of each grid on its own: geometry, code, repeated codes, the file's street
    and community fields and names. These alone decide which rows an import can store; the
    layout (`check_layout`) only decides whether it may."""
    opts = options or QaOptions()
    found = _Found(crs, opts)
    add = found.add
    usable: list[int] = []
    parsed: dict[int, GridCode] = {}

    # geometry
    reasons = problems(np.array([s.geom for s in shapes], dtype=object))
    for i, (s, why) in enumerate(zip(shapes, reasons, strict=True)):
        if why is None:
            usable.append(i)
            continue
        xy = problem_location(why)
        add("invalid_geometry", [s], f"{s.label}：{problem_zh(why)} ({s.label}: {why})", xy=xy,
            reason="null_geometry" if why == "no geometry" else "invalid_geometry")

    # codes
    by_code: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(shapes):
        try:
            parsed[i] = GridCode.parse(s.code, scheme=scheme, digits=grid_digits,
                                       district=district)
        except BadCode as exc:
            where_at = s.geom if i in usable else None
            add("malformed_code", [s],
                f"要素 {s.row}：{exc.message}" if s.row is not None else exc.message,
                at=where_at, reason=exc.reason)
        if s.code:
            by_code[s.code].append(i)
    for code, idx in by_code.items():
        if len(idx) > 1:
            rows = [str(shapes[i].row) for i in idx if shapes[i].row is not None]
            where_zh = f"（要素 {'、'.join(rows)}）" if rows else ""
            where = f" (features {', '.join(rows)})" if rows else ""
            add("duplicate_code", [shapes[i] for i in idx],
                f"网格编码 {code} 出现 {len(idx)} 次{where_zh} "
                f"(grid code {code} appears {len(idx)} times{where})",
                at=shapes[idx[0]].geom if idx[0] in usable else None)

    # the file's own street/community fields against the grid code
    names: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for i, gc in parsed.items():
        s = shapes[i]
        street, community = gc.street.value, gc.community.value
        for level, given, full in (("street", s.street_code, street),
                                   ("community", s.community_code, community)):
            if given and given not in {full, full[-3:]}:
                zh = LEVEL_ZH[level]
                add("nesting", [s], f"{s.label}：{zh}代码字段为 {given}，而网格编码表明它在{zh} "
                                    f"{full} ({s.label}: its {level} code field says {given}, "
                                    f"but the grid code puts it in {level} {full})",
                    at=s.geom if i in usable else None)
        if s.street_name:
            names[("street", street)][s.street_name].append(i)
        if s.community_name:
            names[("community", community)][s.community_name].append(i)
    for (level, code), variants in names.items():
        if len(variants) > 1:
            listed = " / ".join(f"{n} ({len(v)})" for n, v in variants.items())
            listed_zh = "、".join(f"{n}（{len(v)} 个网格）" for n, v in variants.items())
            first = [shapes[v[0]] for v in variants.values()]
            add("name_conflict", first, f"{LEVEL_ZH[level]} {code} 的名称不一致：{listed_zh} "
                                        f"({level} {code} is named differently: {listed})")

    return RowChecks(shapes, crs, opts, found.findings, usable, parsed)


def check_layout(rows: RowChecks, *, streets: Mapping[str, shapely.Geometry] | None = None,
                 communities: Mapping[str, shapely.Geometry] | None = None) -> list[Finding]:
    """The findings of the grids together, after `check_rows`: overlaps, gaps, nesting in known
    boundaries, areas. Geometry work only (GEOS, which lets other threads run): an import runs
    it while its rows are written."""
    shapes, usable, parsed, opts = rows.shapes, rows.usable, rows.parsed, rows.options
    found = _Found(rows.crs, opts)
    add = found.add
    geoms = np.array([shapes[i].geom for i in usable], dtype=object)
    if len(geoms):
        tree = STRtree(geoms)
        # A valid coverage (edges shared exactly, interiors disjoint) has no overlaps, and its
        # union is cheap; real survey data often is one.
        coverage = bool(shapely.coverage_is_valid(geoms))
        if not coverage:
            _overlaps(shapes, usable, geoms, tree, opts, add)
        union = shapely.coverage_union_all(geoms) if coverage else shapely.union_all(geoms)
        _gaps(shapes, usable, geoms, tree, union, opts, add)
        _nesting(shapes, usable, geoms, parsed, opts, add, streets or {}, communities or {})
        areas = shapely.area(geoms)
        lo, hi = opts.area_band_m2
        for k in np.flatnonzero((areas < lo) | (areas > hi)):
            s = shapes[usable[k]]
            add("area", [s], f"{s.label}：面积 {areas[k]:,.0f} 平方米，不在 {lo:,.0f}–{hi:,.0f} "
                             f"平方米之间（万米单元网格） ({s.label}: area {areas[k]:,.0f} m² "
                             f"is outside the {lo:,.0f}–{hi:,.0f} m² band)",
                area=float(areas[k]), at=s.geom)
    return found.findings


def _overlaps(shapes, usable, geoms, tree, opts, add) -> None:  # type: ignore[no-untyped-def]
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    if not len(left):
        return
    same_code = np.array([shapes[usable[a]].code == shapes[usable[b]].code
                          for a, b in zip(left, right, strict=True)], dtype=bool)
    left, right = left[~same_code], right[~same_code]
    # Neighbours only share edges; intersect just the pairs whose interiors meet.
    meet = shapely.relate_pattern(geoms[left], geoms[right], "2********")
    left, right = left[meet], right[meet]
    inter = shapely.intersection(geoms[left], geoms[right])
    areas = shapely.area(inter)
    cand = np.flatnonzero(areas > 0)
    thick = thicker_than(inter[cand], opts.tolerance_m)
    for k in cand[thick]:
        a, b = shapes[usable[left[k]]], shapes[usable[right[k]]]
        add("overlap", [a, b], f"{a.label} 与 {b.label} 重叠 {areas[k]:,.2f} 平方米 "
                               f"({a.label} and {b.label} overlap by {areas[k]:,.2f} m²)",
            area=float(areas[k]), at=inter[k])


def _gaps(shapes, usable, geoms, tree, union, opts, add) -> None:  # type: ignore[no-untyped-def]
    polygons = list(getattr(union, "geoms", [union]))
    rings = np.array([Polygon(ring) for p in polygons if isinstance(p, Polygon)
                      for ring in p.interiors], dtype=object)
    if not len(rings):
        return
    # A hole may hold an island of grids; the gap is the hole minus what is covered.
    holes = shapely.difference(rings, union)
    thick = thicker_than(holes, opts.tolerance_m)
    for hole in holes[thick]:
        near = tree.query(hole.buffer(opts.tolerance_m), predicate="intersects")
        around = [shapes[usable[k]] for k in sorted(near, key=lambda k: shapes[usable[k]].label)]
        names = "、".join(s.label for s in around[:6]) + ("……" if len(around) > 6 else "")
        add("gap", around, f"网格 {names} 之间有 {hole.area:,.2f} 平方米的缝隙 "
                           f"(a gap of {hole.area:,.2f} m² enclosed by {len(around)} grids)",
            area=float(hole.area), at=hole)


def _nesting(shapes, usable, geoms, parsed, opts, add, streets, communities) -> None:  # type: ignore[no-untyped-def]
    for level, bounds in (("community", communities), ("street", streets)):
        if not bounds:
            continue
        idx, parents = [], []
        for k, i in enumerate(usable):
            gc = parsed.get(i)
            if gc is None:
                continue
            key = gc.community.value if level == "community" else gc.street.value
            if key in bounds:
                idx.append(k)
                parents.append(bounds[key])
        if not idx:
            continue
        outside = shapely.difference(geoms[idx], np.array(parents, dtype=object))
        thick = thicker_than(outside, opts.tolerance_m)
        for j in np.flatnonzero(thick):
            s = shapes[usable[idx[j]]]
            gc = parsed[usable[idx[j]]]
            parent = gc.community.value if level == "community" else gc.street.value
            area = float(outside[j].area)
            add("nesting", [s], f"{s.label} 有 {area:,.2f} 平方米超出所属{LEVEL_ZH[level]} "
                                f"{parent} ({s.label} reaches {area:,.2f} m² outside its "
                                f"{level} {parent})",
                area=area, at=outside[j])
