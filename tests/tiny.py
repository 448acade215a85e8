"""A tiny county made by hand, for logic tests (MapIt's habit): what each test expects can be
worked out by eye.

    ┌────────┬────────┐   four 100 m grids of one community of 澄江街道, district 341802:
    │  ..03  │  ..04  │   34180200100101 south-west, ..02 south-east, ..03 north-west,
    ├────────┼────────┤   ..04 north-east; the origin is their shared corner at (118.75, 30.94)
    │  ..01  │  ..02  │
    └────────┴────────┘

Points are given in metres east and north of that corner (`lonlat`). Components of class 0101
(上水井盖, legacy): M1 at (-10, -50) in grid 01, maintained by 自来水公司 (主管部门 城建局); M2 at
(10, -50) in grid 02, with only its 主管部门 城建局 — so (0, -50) is on the edge of two grids and
equally near two components. Zone Z1 (保洁片区) is grid 03's square, for event 0102 (暴露垃圾),
unit 保洁公司; zone Z0 (物业小区) is the north half, grids 03 and 04, for every class, unit
物业公司 (larger, so Z1 wins where both apply). The 权责清单 lists event 0102 → 城管局 and event
0104 → 环卫所. Everything goes in through the real importers, from GeoJSON files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from gis.crs import LocalFrame
from grid.districts import add_district
from grid.importer import import_grids
from lookup.rules import import_rules

CODE = "341802"
FRAME = LocalFrame.around(118.75, 30.94)
STREET = "澄江街道"
GRIDS = {"34180200100101": (-100, -100), "34180200100102": (0, -100),
         "34180200100103": (-100, 0), "34180200100104": (0, 0)}   # south-west corners, metres


def lonlat(x: float, y: float) -> tuple[float, float]:
    """A point of the tiny county, from metres east and north of the origin."""
    lon, lat = FRAME.lonlat(x, y)
    return float(lon), float(lat)


def _rectangle(x0: float, y0: float, width: float, height: float) -> list[list[list[float]]]:
    ring = [(x0, y0), (x0 + width, y0), (x0 + width, y0 + height), (x0, y0 + height), (x0, y0)]
    return [[list(lonlat(x, y)) for x, y in ring]]


def _write(path: Path, features: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features},
                               ensure_ascii=False), encoding="utf-8")
    return path


def _polygon(props: dict[str, Any], x0: float, y0: float, width: float,
             height: float) -> dict[str, Any]:
    return {"type": "Feature", "properties": props,
            "geometry": {"type": "Polygon", "coordinates": _rectangle(x0, y0, width, height)}}


def _point(props: dict[str, Any], x: float, y: float) -> dict[str, Any]:
    return {"type": "Feature", "properties": props,
            "geometry": {"type": "Point", "coordinates": list(lonlat(x, y))}}


def build(session: Session, folder: Path) -> None:
    """The tiny county in the database of `session` (the caller commits or rolls back)."""
    from census.importer import import_components

    add_district(session, CODE, name="宣州区", scheme="legacy", crs="EPSG:4549")
    grids = _write(folder / "grids.geojson", [
        _polygon({"网格编码": code, "街道名称": STREET, "社区名称": "小社区"}, x0, y0, 100, 100)
        for code, (x0, y0) in GRIDS.items()])
    report, _ = import_grids(session, grids, CODE)
    assert report.status == "ok", report.summary()
    census = _write(folder / "components.geojson", [
        _point({"标识码": "3418020101000001", "部件名称": "上水井盖", "养护单位": "自来水公司",
                "主管部门": "城建局"}, -10, -50),
        _point({"标识码": "3418020101000002", "部件名称": "上水井盖", "主管部门": "城建局"},
               10, -50)])
    imported = import_components(session, census, CODE)
    assert imported.rejected == 0, imported.summary()
    duties = folder / "权责清单.csv"
    duties.write_text("类型,类别代码,责任部门\n事件,0102,城管局\n事件,0104,环卫所\n",
                      encoding="utf-8")
    import_rules(session, duties, CODE)
    zones = _write(folder / "zones.geojson", [
        _polygon({"区域编码": "Z1", "区域名称": "保洁片区", "责任单位": "保洁公司",
                  "适用类别": "事件:0102"}, -100, 0, 100, 100),
        _polygon({"区域编码": "Z0", "区域名称": "物业小区", "责任单位": "物业公司",
                  "适用类别": ""}, -100, 0, 200, 100)])
    import_rules(session, zones, CODE)
