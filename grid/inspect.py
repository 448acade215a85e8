"""QA of grids, from a file before import or as stored: the database side of `grid.qa`."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial

import numpy as np
import shapely
from pyproj import CRS
from sqlalchemy.orm import Session

from gis import crs as crsmod
from gis.errors import BadInput
from grid import store
from grid.districts import District, get_district
from grid.qa import (
    STORED,
    Finding,
    GridShape,
    QaOptions,
    QaReport,
    RowChecks,
    check_grids,
    check_layout,
    check_rows,
)
from grid.reading import GridFile, read_grid_file


def qa_file(session: Session, district: District, grid_file: GridFile,
            options: QaOptions) -> QaReport:
    """QA a grid file against the district's scheme and known street/community boundaries."""
    rows, layout = file_checks(session, district, grid_file, options)
    return file_report(district, grid_file, options, rows.findings + layout())


def file_checks(session: Session, district: District, grid_file: GridFile, options: QaOptions
                ) -> tuple[RowChecks, Callable[[], list[Finding]]]:
    """`qa_file` in two steps: each row's own findings, now; and the layout's, as a function of
    geometry alone (it reads nothing from the database) that the caller runs when, and on the
    thread, it likes."""
    streets, communities = projected_boundaries(session, district.code, grid_file.target)
    rows = check_rows(grid_file.shapes, district=district.code, scheme=district.scheme,
                      grid_digits=district.grid_digits, crs=grid_file.target, options=options)
    return rows, partial(check_layout, rows, streets=streets, communities=communities)


def file_report(district: District, grid_file: GridFile, options: QaOptions,
                findings: list[Finding]) -> QaReport:
    return QaReport(district=district.code, source=grid_file.layer.source,
                    crs=crsmod.describe(grid_file.target), options=options,
                    grids=len(grid_file.shapes), findings=findings)


def projected_boundaries(session: Session, district_code: str, target: CRS
                         ) -> tuple[dict[str, shapely.Geometry], dict[str, shapely.Geometry]]:
    out = []
    for level in ("street", "community"):
        known = store.boundaries(session, district_code, level)
        geoms = crsmod.reproject(np.array(list(known.values()), dtype=object),
                                 crsmod.STORAGE_CRS, target)
        out.append(dict(zip(known.keys(), geoms, strict=True)))
    return out[0], out[1]




def qa_stored(session: Session, district_code: str, options: QaOptions | None = None) -> QaReport:
    """QA of the district's current grids as stored."""
    district = get_district(session, district_code)
    target = district.projected_crs()
    if target is None:
        raise BadInput(f"区县 {district.code} 还没有坐标系：请先导入单元网格，或用 `citygrid "
                       f"district add {district.code} --crs EPSG:…` 设置 "
                       f"(district {district.code} has no CRS yet)")
    grids = store.current_grids(session, district.code)
    projected = crsmod.reproject(np.array([g.geom for g in grids], dtype=object),
                                 crsmod.STORAGE_CRS, target)
    shapes = [GridShape(code=g.code, geom=p) for g, p in zip(grids, projected, strict=True)]
    streets, communities = projected_boundaries(session, district.code, target)
    opts = options or QaOptions()
    findings = check_grids(shapes, district=district.code, scheme=district.scheme,
                           grid_digits=district.grid_digits, crs=target, options=opts,
                           streets=streets, communities=communities)
    return QaReport(district=district.code, source=STORED, crs=crsmod.describe(target),
                    options=opts, grids=len(shapes), findings=findings)


def qa_path(session: Session, district_code: str, path: str | os.PathLike[str], *,
            crs: str | None = None, encoding: str | None = None,
            fields: dict[str, str] | None = None, options: QaOptions | None = None) -> QaReport:
    """QA of a grid file, before import."""
    district = get_district(session, district_code)
    gf = read_grid_file(path, district, crs=crs, encoding=encoding, fields=fields)
    return qa_file(session, district, gf, options or QaOptions())
