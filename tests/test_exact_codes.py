"""Codes are never altered: a 17-digit 标识码 delivered in a numeric field (a DBF N field of any
width, a GeoJSON number, a GeoPackage INTEGER) is stored with every digit, and one whose digits
were lost before citygrid saw it (a float, a spreadsheet's 3.41881E+16) is rejected, never
stored as a neighbouring code. Input files are written by GDAL's ogr2ogr."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
import sqlalchemy as sa

from census.importer import import_components
from census.tables import component, organisation
from gis.vector import read_vector
from grid.districts import add_district
from grid.importer import import_grids
from tests.conftest import SAMPLES
from tests.gridfiles import ogr2ogr

NINGGUO = SAMPLES / "341881_ningguo"
D = "341881"
# A 供水井盖 (class 01001) of the sample census, in grid 341881002001013 (EPSG:4549).
X, Y = 402509.24, 3391275.32
GRID = "341881002001013"
# Consecutive 标识码 that float64 cannot tell apart: …001 and …002 both become …000 there.
IDS = [f"{D}01001{serial}" for serial in ("900001", "900002", "900003", "900004")]
OWNER = "123418810030000013"            # an all-digit 统一社会信用代码 (check digit 3)


@pytest.fixture
def ningguo(db):
    """宁国市 (GB/T 47678, 17-digit 标识码) with the sample city's grids."""
    add_district(db, D, name="宁国市", scheme="gb47678", crs="EPSG:4549")
    report, _ = import_grids(db, NINGGUO / "单元网格.shp", D)
    assert report.imported == 225
    return db


def stored_codes(db) -> list[str]:
    return list(db.execute(sa.select(component.c.code).where(component.c.district_code == D)
                           .order_by(component.c.code)).scalars())


def points_geojson(path: Path, properties: list[str]) -> Path:
    """A GeoJSON of points at (X, Y) whose properties are given as raw JSON text, so numbers are
    written exactly as a producer would (34188101001900001, or 3.41881010019e+16)."""
    features = [f'{{"type": "Feature", "properties": {p}, "geometry": '
                f'{{"type": "Point", "coordinates": [{X}, {Y}]}}}}' for p in properties]
    path.write_text('{"type": "FeatureCollection", "crs": {"type": "name", "properties": '
                    '{"name": "urn:ogc:def:crs:EPSG::4549"}}, "features": ['
                    + ", ".join(features) + "]}", encoding="utf-8")
    return path


# -- reading -----------------------------------------------------------------------------------


def test_integer_columns_with_empty_values_keep_their_digits_in_the_frame(tmp_path):
    src = points_geojson(tmp_path / "src.geojson",
                         [f'{{"GLBJBSM": {IDS[0]}}}', '{"GLBJBSM": null}'])
    gpkg = tmp_path / "部件.gpkg"
    ogr2ogr("-f", "GPKG", str(gpkg), str(src), "-nln", "部件")
    layer = read_vector(gpkg)
    assert layer.table.column("GLBJBSM").type == pa.int64()
    # numpy would make this float64 with NaN, and …900001 would be …900000
    assert list(layer.frame["GLBJBSM"]) == [int(IDS[0]), None]


# -- census imports ----------------------------------------------------------------------------


def test_ids_in_a_geopackage_integer_column_with_empty_values_survive(ningguo, tmp_path):
    props = [json.dumps({"GLBJBSM": int(c), "QSDWDM": int(OWNER) if i % 2 else None,
                         "QSDWMC": "宁国市供水公司" if i % 2 else None}, ensure_ascii=False)
             for i, c in enumerate(IDS)] + ['{"GLBJBSM": null}']
    src = points_geojson(tmp_path / "src.geojson", props)
    gpkg = tmp_path / "部件.gpkg"
    ogr2ogr("-f", "GPKG", str(gpkg), str(src), "-nln", "部件")
    report = import_components(ningguo, gpkg, D)
    assert report.imported == 4
    assert [(r.row, r.reason, r.message) for r in report.rejects] == \
        [(5, "bad_code", "row 5: 标识码 is empty")]
    assert stored_codes(ningguo) == IDS
    assert ningguo.execute(sa.select(organisation.c.code)).scalars().all() == [OWNER]


