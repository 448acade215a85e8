"""Census export: the live census of a district as a file GDAL/QGIS read and citygrid imports
again with nothing lost.

    .shp      GBK text (.cpg written), standard field names of the district's scheme, DBF Date
              fields; one file per geometry family when the census mixes points, lines and
              polygons (NAME_point.shp, NAME_line.shp, NAME_polygon.shp)
    .gpkg     one layer, any geometry
    .geojson  one FeatureCollection (RFC 7946: lon/lat)

Coordinates are CGCS2000 (EPSG:4490) unless another CRS is asked for.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyogrio
import shapely
import sqlalchemy as sa
from pyproj import CRS
from sqlalchemy.orm import Session, aliased

from census.tables import component, organisation
from gis import crs as crsmod
from gis.errors import BadInput
from grid.codes import Scheme
from grid.districts import get_district

# (field name, value) in the order the standards list them.
STANDARD_FIELDS: dict[Scheme, list[tuple[str, str]]] = {
    Scheme.GB47678: [
        ("GLBJBSM", "code"), ("GLBJMC", "name"), ("ZGBMDM", "dept_code"),
        ("ZGBMMC", "dept_name"), ("QSDWDM", "owner_code"), ("QSDWMC", "owner_name"),
        ("YHDWDM", "maintainer_code"), ("YHDWMC", "maintainer_name"),
        ("SZDYWGBSM", "grid_code"), ("GLBJZT", "status"), ("CSRQ", "initial_date"),
        ("BGRQ", "change_date"), ("SJLY", "data_source"), ("BZ", "note")],
    Scheme.LEGACY: [
        ("ObjID", "code"), ("ObjName", "name"), ("DeptCode1", "dept_code"),
        ("DeptName1", "dept_name"), ("DeptCode2", "owner_code"), ("DeptName2", "owner_name"),
        ("DeptCode3", "maintainer_code"), ("DeptName3", "maintainer_name"),
        ("BGID", "grid_code"), ("ObjState", "status"), ("ORDate", "initial_date"),
        ("CHDate", "change_date"), ("DataSource", "data_source"), ("Note", "note")],
}
FORMATS = {".shp": "ESRI Shapefile", ".gpkg": "GPKG", ".geojson": "GeoJSON",
           ".json": "GeoJSON"}
FAMILIES = (("point", (0, 4)), ("line", (1, 2, 5)), ("polygon", (3, 6)))


@dataclass
class ExportReport:
    district: str
    files: dict[str, int] = field(default_factory=dict)   # path → features
    crs: str = ""
    skipped_fields: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(self.files.values())

    def summary(self) -> str:
        where = ", ".join(f"{p} ({n})" for p, n in self.files.items()) or "nothing"
        return f"exported {self.count} components of {self.district} in {self.crs}: {where}"


def export_components(session: Session, district_code: str, outfile: str | os.PathLike[str],
                      *, crs: str | None = None) -> ExportReport:
    district = get_district(session, district_code)
    out = Path(outfile)
    driver = FORMATS.get(out.suffix.lower())
    if driver is None:
        raise BadInput(f"{out}：不支持扩展名 {out.suffix or '（无）'!r}，请用 .shp、.gpkg 或 "
                       f".geojson ({out}: unsupported extension {out.suffix or '(none)'!r}; "
                       "use .shp, .gpkg or .geojson)")
    if not out.parent.exists():
        raise BadInput(f"目录 {out.parent} 不存在 ({out.parent} does not exist)")
    target = crsmod.parse_crs(crs) if crs else crsmod.STORAGE_CRS
    if driver == "GeoJSON" and not crsmod.same_crs(target, crsmod.STORAGE_CRS):
        raise BadInput("GeoJSON 按定义是经纬度（RFC 7946），投影坐标系请导出为 .shp 或 .gpkg "
                       "(GeoJSON is longitude/latitude by definition, RFC 7946; "
                       "export .shp or .gpkg for a projected CRS)")
    rows = _rows(session, district.code)
    report = ExportReport(district=district.code, crs=crsmod.describe(target))
    if not rows:
        raise BadInput(f"区县 {district.code} 没有可导出的部件 "
                       f"(district {district.code} has no components to export)")
    geoms = shapely.from_wkb([bytes(r["wkb"]) for r in rows])
    geoms = crsmod.reproject(np.asarray(geoms, dtype=object), crsmod.STORAGE_CRS, target)
    fields = STANDARD_FIELDS[district.scheme]
    extra_names = sorted({k for r in rows for k in (r["attrs"] or {})})
    if driver == "ESRI Shapefile":
        fitting = [k for k in extra_names if len(k.encode("gb18030")) <= 10
                   and k not in {f for f, _ in fields}]
        report.skipped_fields = [k for k in extra_names if k not in fitting]
        extra_names = fitting
        kinds = shapely.get_type_id(geoms)
        present = [(name, np.isin(kinds, ids)) for name, ids in FAMILIES
                   if np.isin(kinds, ids).any()]
        for name, mask in present:
            path = out if len(present) == 1 else out.with_name(f"{out.stem}_{name}{out.suffix}")
            _remove_shapefile(path)
            idx = np.flatnonzero(mask)
            _write([rows[i] for i in idx], geoms[idx], fields, extra_names, path, driver,
                   target, "GBK")
            report.files[str(path)] = len(idx)
    else:
        if out.exists():
            out.unlink()
        _write(rows, geoms, fields, extra_names, out, driver, target, None)
        report.files[str(out)] = len(rows)
    return report


def _rows(session: Session, district_code: str) -> list[dict[str, Any]]:
    dept, owner, keeper = (aliased(organisation) for _ in range(3))

    def org_code(o: Any) -> Any:
        return sa.func.coalesce(o.c.credit_code, o.c.code)

    def joined(o: Any, col: Any) -> Any:
        return sa.and_(o.c.district_code == component.c.district_code, o.c.id == col)

    stmt = (sa.select(
        component.c.code, component.c.name, component.c.grid_code, component.c.status,
        component.c.initial_date, component.c.change_date, component.c.data_source,
        component.c.note, component.c.attrs,
        dept.c.name.label("dept_name"), org_code(dept).label("dept_code"),
        owner.c.name.label("owner_name"), org_code(owner).label("owner_code"),
        keeper.c.name.label("maintainer_name"), org_code(keeper).label("maintainer_code"),
        sa.func.ST_AsBinary(component.c.geom).label("wkb"))
        .select_from(component)
        .outerjoin(dept, joined(dept, component.c.dept_id))
        .outerjoin(owner, joined(owner, component.c.owner_id))
        .outerjoin(keeper, joined(keeper, component.c.maintainer_id))
        .where(component.c.district_code == district_code, component.c.retired_at.is_(None))
        .order_by(component.c.code))
    return [dict(r._mapping) for r in session.execute(stmt)]


def _write(rows: list[dict[str, Any]], geoms: np.ndarray, fields: list[tuple[str, str]],
           extra: list[str], path: Path, driver: str, crs: CRS, encoding: str | None) -> None:
    columns: dict[str, pa.Array] = {}
    for name, key in fields:
        values = [r[key] for r in rows]
        kind = pa.date32() if key.endswith("_date") else pa.string()
        columns[name] = pa.array(values, kind)
    for key in extra:
        values = [(r["attrs"] or {}).get(key) for r in rows]
        try:
            columns[key] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            columns[key] = pa.array([None if v is None else str(v) for v in values], pa.string())
        if pa.types.is_null(columns[key].type):
            columns[key] = columns[key].cast(pa.string())
    columns["geometry"] = pa.array(shapely.to_wkb(geoms), pa.binary())
    table = pa.table(columns)
    options = {"encoding": encoding} if encoding else {}
    pyogrio.write_arrow(table, path, driver=driver, geometry_name="geometry",
                        geometry_type="Unknown", crs=crs.to_wkt(), **options)


def _remove_shapefile(path: Path) -> None:
    for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
        candidate = path.with_suffix(ext)
        if candidate.exists():
            candidate.unlink()
