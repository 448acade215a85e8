"""Codes are never altered: a 17-digit 标识码 delivered in a numeric field (a DBF N field of any
width, a GeoJSON number, a GeoPackage INTEGER) is stored with every digit, and one whose digits
were lost before citygrid saw it (a float, a spreadsheet's 3.41881E+16) is rejected, never
stored as a neighbouring code. Input files are written by GDAL's ogr2ogr."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import sqlalchemy as sa

from census.importer import import_components
from census.tables import component, organisation
from gis import columns, values
from gis.csvfile import read_csv
from gis.dbf import Field, number_column, open_dbf
from gis.vector import read_vector
from grid.districts import add_district
from grid.importer import import_grids
from tests.conftest import SAMPLES
from tests.filemaker import patch_dbf
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


def numeric_shapefile(folder: Path, fields: dict[str, tuple[str, list[str]]]) -> Path:
    """A point shapefile written by ogr2ogr from a CSV whose .csvt types each field:
    'Integer64(20)' makes an N field 20 wide holding the CSV's digits as they are."""
    folder.mkdir(parents=True, exist_ok=True)
    names = list(fields)
    rows = len(fields[names[0]][1])
    lines = [",".join(["WKT", *names])]
    lines += [",".join([f'"POINT ({X} {Y})"', *(fields[n][1][i] for n in names)])
              for i in range(rows)]
    src = folder / "src.csv"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    src.with_suffix(".csvt").write_text(
        ",".join(['"WKT"', *(f'"{fields[n][0]}"' for n in names)]), encoding="utf-8")
    out = folder / "部件.shp"
    ogr2ogr("-f", "ESRI Shapefile", str(out), str(src), "-oo", "GEOM_POSSIBLE_NAMES=WKT",
            "-oo", "KEEP_GEOM_COLUMNS=NO", "-a_srs", "EPSG:4549", "-lco", "ENCODING=CP936")
    return out


def dbf_widths(shp: Path) -> dict[str, tuple[bytes, int, int]]:
    dbf = open_dbf(shp.with_suffix(".dbf"))
    assert dbf is not None
    return {f.raw_name.decode(): (f.kind, f.length, f.decimals) for f in dbf.fields}


def delete_record(shp: Path, index: int) -> None:
    """Mark a DBF record deleted ('*'), as editors do before a pack: citygrid's own DBF reader
    declines such a file and GDAL reads it."""
    dbf = shp.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    header_len, record_len = struct.unpack("<HH", data[8:12])
    data[header_len + index * record_len] = ord("*")
    dbf.write_bytes(bytes(data))


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


@pytest.mark.parametrize("deleted", [False, True], ids=["own DBF reader", "GDAL"])
def test_integer_fields_of_every_width_keep_every_digit(tmp_path, deleted):
    n17, n18 = [*IDS, "", "1"], [*IDS, "", "2"]
    n20 = [*IDS, "", "99999999999999999999"]
    shp = numeric_shapefile(tmp_path, {"N17": ("Integer64(17)", n17),
                                       "N18": ("Integer64(18)", n18),
                                       "N20": ("Integer64(20)", n20)})
    assert dbf_widths(shp) == {"N17": (b"N", 17, 0), "N18": (b"N", 18, 0),
                               "N20": (b"N", 20, 0)}
    # GDAL's CSV reader stops at int64: put the 20 digits into the field itself
    patch_dbf(shp, b" 9223372036854775807", b"99999999999999999999")
    if deleted:
        delete_record(shp, 1)
    layer = read_vector(shp)
    keep = [i for i in range(6) if not (deleted and i == 1)]

    def read(name: str, given: list[str]) -> None:
        assert columns.text(layer.table.column(name)).to_pylist() == \
            [given[i] or None for i in keep]

    read("N17", n17)
    read("N18", n18)
    read("N20", n20)
    assert layer.table.column("N17").type == pa.int64()
    # 20 digits do not fit int64: the field is read as its digit text, by either reader
    assert layer.table.column("N20").type == pa.string()
    assert list(layer.frame["N17"])[:2] == [int(IDS[0]), int(IDS[2] if deleted else IDS[1])]


def test_odd_writing_of_numbers_is_read_exactly_or_not_at_all():
    def raw(values: list[bytes], width: int) -> np.ndarray:
        return np.frombuffer(b"".join(v.rjust(width) for v in values),
                             dtype=np.uint8).reshape(len(values), width)

    narrow = Field(b"N", b"N", 10, 0, 1)
    values = [b"+12", b"12.0", b"1E3", b"1.5", b"*****", b"", b"-7"]
    assert number_column(raw(values, 10), narrow).to_pylist() == \
        [12, 12, 1000, None, None, None, -7]
    wide = Field(b"W", b"N", 20, 0, 1)
    values = [b"00034188101001900001", b"+34188101001900002", b"**********", b"0",
              b"12345678901234567890", "一二三".encode("gbk")]
    assert number_column(raw(values, 20), wide).to_pylist() == \
        ["34188101001900001", "34188101001900002", None, "0", "12345678901234567890", None]
    measure = Field(b"M", b"N", 24, 15, 1)
    assert number_column(raw([b"12.500000000000000"], 24), measure).to_pylist() == [12.5]


def test_floats_become_digits_only_while_they_are_exact():
    floats = pa.array([34188101001900.0, 2.0**53 - 1, 2.0**53, 3.4188101001900004e16, 2.5, None])
    assert columns.text(floats).to_pylist() == [
        "34188101001900", "9007199254740991", "9007199254740992.0", "3.4188101001900004e+16",
        "2.5", None]
    assert columns.lost_digits(floats).tolist() == [False, False, True, True, False, False]
    spreadsheet = pa.array(["3.41881E+16", "3.41881E16", "34188101001900001", "1e", None])
    assert columns.lost_digits(spreadsheet).tolist() == [True, True, False, False, False]
    # one value at a time (grid and boundary imports), the same rule
    assert [values.text(v) for v in (341881002001013.0, 3.4188101001900004e16)] == \
        ["341881002001013", "3.4188101001900004e+16"]


def test_integer_columns_with_empty_values_keep_their_digits_in_the_frame(tmp_path):
    src = points_geojson(tmp_path / "src.geojson",
                         [f'{{"GLBJBSM": {IDS[0]}}}', '{"GLBJBSM": null}'])
    gpkg = tmp_path / "部件.gpkg"
    ogr2ogr("-f", "GPKG", str(gpkg), str(src), "-nln", "部件")
    layer = read_vector(gpkg)
    assert layer.table.column("GLBJBSM").type == pa.int64()
    # numpy would make this float64 with NaN, and …900001 would be …900000
    assert list(layer.frame["GLBJBSM"]) == [int(IDS[0]), None]


def test_a_spreadsheet_csv_keeps_long_digit_strings_as_written(tmp_path):
    # Excel in China saves GBK; a column formatted as text keeps its digits, a General one
    # writes 3.41881E+16, which stays text here for the importers to refuse by name
    path = tmp_path / "清单.csv"
    path.write_bytes("标识码,权属单位代码,小类代码,名称\r\n"
                     f"{IDS[0]},{OWNER},01001,供水井盖\r\n"
                     "3.41881E+16,91341881MA0000013M,01002,污水井盖\r\n"
                     "34188101001900002000,,1001,雨水井盖\r\n".encode("gbk"))
    rows, encoding = read_csv(path)
    assert encoding.startswith("GBK") or encoding.startswith("CP936")
    assert [(r["标识码"], r["权属单位代码"], r["小类代码"]) for r in rows] == [
        (IDS[0], OWNER, "01001"), ("3.41881E+16", "91341881MA0000013M", "01002"),
        ("34188101001900002000", "", "1001")]
    assert columns.lost_digits(pa.array([r["标识码"] for r in rows])).tolist() == \
        [False, True, False]


# -- census imports ----------------------------------------------------------------------------


@pytest.mark.parametrize("width", [17, 18, 20])
@pytest.mark.parametrize("deleted", [False, True], ids=["own DBF reader", "GDAL"])
def test_ids_in_numeric_dbf_fields_survive_a_census_import(ningguo, tmp_path, width, deleted):
    extra = f"{D}01001900009"
    shp = numeric_shapefile(tmp_path, {
        "GLBJBSM": (f"Integer64({width})", [*IDS, extra]),
        "GLBJMC": ("String", ["供水井盖"] * 5),
        "QSDWDM": ("Integer64(18)", [OWNER] * 5), "QSDWMC": ("String", ["宁国市供水公司"] * 5),
        "SZDYWGBSM": ("Integer64(15)", [GRID] * 5)})
    assert dbf_widths(shp)["GLBJBSM"] == (b"N", width, 0)
    if deleted:
        delete_record(shp, 4)                     # the extra row; GDAL reads the other four
    report = import_components(ningguo, shp, D)
    assert (report.read, report.imported, report.rejects) == (4 if deleted else 5,
                                                              4 if deleted else 5, [])
    assert stored_codes(ningguo) == IDS + ([] if deleted else [extra])
    assert report.extra["grid_mismatches"] == 0   # 所在网格 read as 341881002001013 too
    owners = ningguo.execute(sa.select(organisation.c.code, organisation.c.credit_code).where(
        organisation.c.district_code == D)).all()
    assert owners == [(OWNER, OWNER)]


def test_ids_as_geojson_integers_survive_and_as_floats_are_refused(ningguo, tmp_path):
    exact = points_geojson(tmp_path / "整数.geojson",
                           [json.dumps({"GLBJBSM": int(c), "GLBJMC": "供水井盖"},
                                       ensure_ascii=False) for c in IDS])
    report = import_components(ningguo, exact, D)
    assert (report.imported, report.rejects) == (4, [])
    assert stored_codes(ningguo) == IDS

    # a producer that held the ids as floats (pandas with an empty value, a JavaScript tool
    # printing exponents) wrote 3.41881010019e+16: its digits are gone before citygrid reads it
    floats = points_geojson(tmp_path / "浮点.geojson",
                            [json.dumps({"GLBJBSM": float(f"{D}01001{n:06d}")})
                             for n in range(100001, 100004)])
    report = import_components(ningguo, floats, D)
    assert (report.read, report.imported) == (3, 0)
    assert {r.reason for r in report.rejects} == {"lost_digits"}
    first = report.rejects[0]
    assert first.message.startswith("要素 0：GLBJBSM 3.41881010011e+16 的位数已丢失")
    assert stored_codes(ningguo) == IDS


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
        [(5, "bad_code", "要素 5：标识码为空 (feature 5: 标识码 is empty)")]   # the GPKG's fid
    assert stored_codes(ningguo) == IDS
    assert ningguo.execute(sa.select(organisation.c.code)).scalars().all() == [OWNER]


def test_ids_in_scientific_notation_are_refused_by_name(ningguo, tmp_path):
    # a spreadsheet's CSV turned into a shapefile: the 标识码 column is text, some of it
    # already in the 3.41881E+16 the spreadsheet wrote
    shp = numeric_shapefile(tmp_path, {
        "GLBJBSM": ("String(20)", [IDS[0], "3.41881E+16", IDS[1]]),
        "ZGBMDM": ("String(20)", ["", "", "1.23419E+17"]),
        "ZGBMMC": ("String", ["", "", "宁国市住建局"])})
    report = import_components(ningguo, shp, D)
    assert report.imported == 1
    assert [(r.row, r.reason) for r in report.rejects] == [(1, "lost_digits"),
                                                           (2, "lost_digits")]
    assert report.rejects[0].message.startswith("要素 1：GLBJBSM 3.41881E+16 的位数已丢失")
    assert report.rejects[1].message.startswith("要素 2：ZGBMDM 1.23419E+17 的位数已丢失")
    assert stored_codes(ningguo) == IDS[:1]


def test_ids_in_a_field_with_decimals_are_refused_not_rounded(ningguo, tmp_path):
    # a Double field (N 24.15 here, N 19.11 from ArcGIS): the writer held each id as a float,
    # so …900001 and …900002 were both written as 34188101001900000.000000000000000
    shp = numeric_shapefile(tmp_path, {"GLBJBSM": ("Real(24.15)", IDS)})
    assert dbf_widths(shp)["GLBJBSM"] == (b"N", 24, 15)
    report = import_components(ningguo, shp, D)
    assert (report.imported, {r.reason for r in report.rejects}) == (0, {"lost_digits"})
    assert report.rejects[0].message.startswith("要素 0：GLBJBSM 3.41881010019e+16 的位数已丢失")
    assert stored_codes(ningguo) == []


@pytest.mark.parametrize("values, kind", [
    ([True, False, True, True, False, False, True, False, True], pa.bool_()),
    ([1, -2, 2**40, 0], pa.int64()), ([1, 2, 3], pa.int32()), ([7, 255], pa.uint8()),
    ([1.5, None, float("nan"), -0.0], pa.float64()), ([0.25, None], pa.float32()),
    (["a", None, "乙"], pa.string()), ([], pa.int64()), ([], pa.bool_())])
def test_as_numpy_is_to_numpy_without_pandas(values, kind):
    """gis.columns.as_numpy reads an array's buffers as pyarrow's to_numpy lays them out,
    sliced and chunked arrays too."""
    whole = pa.array(values, kind)
    for arr in (whole, whole.slice(1), pa.chunked_array([whole.slice(0, 1), whole.slice(1)],
                                                        kind)):
        expected = arr.to_numpy(zero_copy_only=False)
        got = columns.as_numpy(arr)
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)


def test_as_numpy_refuses_empty_booleans_and_integers():
    with pytest.raises(ValueError, match="empty values"):
        columns.as_numpy(pa.array([True, None]))
