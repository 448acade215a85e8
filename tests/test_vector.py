"""gis.vector.read_vector: the file formats census and grid data arrive in, and the ways those
files are broken. Every input is written by GDAL's ogr2ogr (or broken by hand), never by
citygrid."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

import pytest
import shapely

from gis.errors import CrsError, InputFileError
from gis.vector import read_vector
from tests.filemaker import (
    X0,
    Y0,
    copy_shapefile,
    geojson,
    ogr2ogr,
    shapefile,
    zip_shapefile,
)

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
ROWS = [{"网格编码": "34180200100101", "社区名称": "鳌峰社区"},
        {"网格编码": "34180200100102", "社区名称": "济川社区"}]
COMMUNITIES = [{"社区代码": "341802001001", "社区名称": "鳌峰社区"}]


def first_square(layer) -> tuple[float, ...]:
    return tuple(shapely.bounds(layer.geometry[0]))


@pytest.fixture
def shp(tmp_path) -> Path:
    return shapefile(tmp_path / "src", ROWS)


# -- formats -----------------------------------------------------------------------------------


def test_shapefile_reads_attributes_geometry_and_crs(shp):
    layer = read_vector(shp)
    assert len(layer) == 2
    assert list(layer.frame["网格编码"]) == ["34180200100101", "34180200100102"]
    assert first_square(layer) == (X0, Y0, X0 + 100, Y0 + 100)
    assert (layer.report_crs(), layer.crs_from) == ("EPSG:4549", "file")


def test_shapefile_with_upper_case_extensions_reads(shp, tmp_path):
    upper = tmp_path / "upper"
    upper.mkdir()
    for part in shp.parent.glob("grid.*"):
        part.rename(upper / f"GRID{part.suffix.upper()}")
    layer = read_vector(upper / "GRID.SHP")
    assert list(layer.frame["社区名称"]) == ["鳌峰社区", "济川社区"]
    assert layer.report_crs() == "EPSG:4549"


def test_shapefile_named_with_brackets_finds_its_sidecars(shp, tmp_path):
    layer = read_vector(copy_shapefile(shp, tmp_path / "copy", "单元网格[2024]"))
    assert layer.report_encoding() == "CP936 (.cpg)"
    assert layer.report_crs() == "EPSG:4549"


def test_zip_holding_one_shapefile_reads_like_the_shapefile(shp, tmp_path):
    archive = zip_shapefile(shp, tmp_path / "grid.zip")
    layer = read_vector(archive)
    assert list(layer.frame["社区名称"]) == ["鳌峰社区", "济川社区"]
    assert first_square(layer) == (X0, Y0, X0 + 100, Y0 + 100)
    assert layer.source.startswith(f"{archive} (")   # the archive, then the entry inside


def test_zip_with_the_shapefile_in_a_folder_reads(shp, tmp_path):
    archive = zip_shapefile(shp, tmp_path / "delivery.zip", folder="宣州区/网格/", stem="单元网格")
    layer = read_vector(archive)
    assert list(layer.frame["网格编码"]) == ["34180200100101", "34180200100102"]


def test_zip_made_on_a_mac_ignores_the_resource_forks(shp, tmp_path):
    archive = zip_shapefile(shp, tmp_path / "grid.zip")
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr("__MACOSX/._grid.shp", b"\x00\x05\x16\x07")
        zf.writestr("__MACOSX/._grid.dbf", b"\x00\x05\x16\x07")
    assert len(read_vector(archive)) == 2


def test_geopackage_in_storage_crs_reads_lon_lat(tmp_path):
    src = geojson(tmp_path / "grid.geojson", ROWS)
    gpkg = ogr2ogr(tmp_path / "grid.gpkg", src, "-f", "GPKG", "-t_srs", "EPSG:4490",
                   "-nln", "单元网格")
    layer = read_vector(gpkg)
    assert layer.report_crs() == "EPSG:4490"
    assert layer.layer == "单元网格"
    assert list(layer.frame["社区名称"]) == ["鳌峰社区", "济川社区"]
    lon, lat = shapely.get_coordinates(layer.geometry[0])[0]
    assert 118.7 < lon < 118.8 and 30.9 < lat < 31.0
    assert layer.report_encoding() == "UTF-8"


def test_geojson_with_a_crs_member_reads(tmp_path):
    layer = read_vector(geojson(tmp_path / "grid.geojson", ROWS))
    assert layer.report_crs() == "EPSG:4549"
    assert list(layer.frame["社区名称"]) == ["鳌峰社区", "济川社区"]
    assert first_square(layer) == (X0, Y0, X0 + 100, Y0 + 100)


def test_sample_shapefile_reads_as_gbk_in_4549():
    layer = read_vector(SAMPLES / "341802_xuanzhou" / "单元网格.shp")
    assert layer.report_crs() == "EPSG:4549"
    assert layer.encoding is not None and layer.encoding.chinese
    assert len(layer) > 0


def test_esri_geographic_prj_reads_as_storage_crs(tmp_path):
    shp = shapefile(tmp_path, ROWS, options=["-t_srs", "EPSG:4490"])
    assert shp.with_suffix(".prj").read_text().startswith('GEOGCS["GCS_China_Geodetic')
    layer = read_vector(shp)
    assert layer.report_crs() == "EPSG:4490"
    lon, lat = shapely.get_coordinates(layer.geometry[0])[0]
    assert 118.7 < lon < 118.8 and 30.9 < lat < 31.0


def test_row_without_geometry_reads_as_none(tmp_path):
    layer = read_vector(shapefile(tmp_path, ROWS, null_rows=[1]))
    assert len(layer) == 2
    assert layer.geometry[1] is None
    assert list(layer.frame["社区名称"]) == ["鳌峰社区", "济川社区"]


def test_geojson_of_metres_without_a_crs_member_is_refused(tmp_path):
    path = geojson(tmp_path / "grid.geojson", ROWS, epsg=None)  # RFC 7946: lon/lat
    with pytest.raises(CrsError, match=r"不是中国境内的经纬度，但坐标系为 EPSG:4326"):
        read_vector(path)


# -- GeoPackage layers -------------------------------------------------------------------------


@pytest.fixture
def two_layer_gpkg(tmp_path) -> Path:
    gpkg = ogr2ogr(tmp_path / "city.gpkg", geojson(tmp_path / "g.geojson", ROWS),
                   "-f", "GPKG", "-nln", "grids")
    ogr2ogr(gpkg, geojson(tmp_path / "c.geojson", COMMUNITIES), "-update", "-nln", "communities")
    return gpkg


def test_geopackage_with_two_layers_is_refused_naming_them(two_layer_gpkg):
    with pytest.raises(InputFileError) as err:
        read_vector(two_layer_gpkg)
    assert "grids" in err.value.message and "communities" in err.value.message


def test_geopackage_layer_can_be_named(two_layer_gpkg):
    layer = read_vector(two_layer_gpkg, layer="communities")
    assert list(layer.frame["社区代码"]) == ["341802001001"]


def test_geopackage_unknown_layer_is_refused_naming_the_layers(two_layer_gpkg):
    with pytest.raises(InputFileError, match=r"没有图层 'roads'（它有 grids、communities）"):
        read_vector(two_layer_gpkg, layer="roads")


# -- broken shapefiles -------------------------------------------------------------------------


def test_missing_dbf_is_refused(shp):
    shp.with_suffix(".dbf").unlink()
    with pytest.raises(InputFileError, match=r"缺少 \.dbf 文件"):
        read_vector(shp)


def test_missing_shx_is_refused(shp):
    shp.with_suffix(".shx").unlink()
    with pytest.raises(InputFileError, match=r"缺少 \.shx 文件"):
        read_vector(shp)


def test_missing_prj_without_crs_asks_for_crs(shp):
    shp.with_suffix(".prj").unlink()
    with pytest.raises(CrsError, match=r"没有 .prj 文件，坐标系未知；请用 --crs 指定"):
        read_vector(shp)


def test_missing_prj_with_crs_reads_in_that_crs(shp):
    shp.with_suffix(".prj").unlink()
    layer = read_vector(shp, crs="EPSG:4549")
    assert (layer.report_crs(), layer.crs_from) == ("EPSG:4549", "--crs")
    assert first_square(layer) == (X0, Y0, X0 + 100, Y0 + 100)


def test_text_file_renamed_shp_is_refused(shp):
    shp.write_text("网格编码,社区名称\n34180200100101,鳌峰社区\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"不是 ?(可读的 )?shapefile"):
        read_vector(shp)


def test_text_file_renamed_gpkg_is_refused(tmp_path):
    fake = tmp_path / "grid.gpkg"
    fake.write_text("not a database")
    with pytest.raises(InputFileError, match=r"不是可读的 \.gpkg 文件"):
        read_vector(fake)


@pytest.mark.parametrize("name", ["grid.shp", "grid.zip", "grid.gpkg", "grid.geojson"])
def test_empty_file_is_refused(tmp_path, name):
    path = tmp_path / name
    path.touch()
    with pytest.raises(InputFileError, match="是空文件"):
        read_vector(path)


@pytest.mark.parametrize("name", ["grid.csv", "grid.kml", "grid"])
def test_unsupported_file_type_is_refused_naming_it(tmp_path, name):
    path = tmp_path / name
    path.write_text("x")
    with pytest.raises(InputFileError, match="不支持的文件类型"):
        read_vector(path)


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(InputFileError, match="文件不存在"):
        read_vector(tmp_path / "nowhere.shp")


# -- CRS from the file and from the user -------------------------------------------------------


def test_wrong_prj_is_caught_by_the_coordinates(tmp_path):
    shp = shapefile(tmp_path, ROWS, assign_srs="EPSG:4528")
    with pytest.raises(CrsError, match="EPSG:4549"):
        read_vector(shp)


def test_crs_overriding_a_wrong_prj_says_what_the_file_said(tmp_path):
    shp = shapefile(tmp_path, ROWS, assign_srs="EPSG:4528")
    layer = read_vector(shp, crs="EPSG:4549")
    assert layer.report_crs() == "EPSG:4549"
    assert layer.crs_from == "--crs (the file said EPSG:4528)"
    assert first_square(layer) == (X0, Y0, X0 + 100, Y0 + 100)  # assigned, not reprojected


def test_crs_agreeing_with_an_esri_prj_is_plain_crs(shp):
    assert "AUTHORITY" not in shp.with_suffix(".prj").read_text()
    assert read_vector(shp, crs="4549").crs_from == "--crs"


def test_unknown_crs_option_is_refused_naming_it(shp):
    with pytest.raises(CrsError, match="'EPSG:45490'"):
        read_vector(shp, crs="EPSG:45490")


# -- archives ----------------------------------------------------------------------------------


@pytest.mark.parametrize("evil", ["../evil.txt", "a/../../evil.txt", "..\\evil.txt",
                                  "/evil.txt"])
def test_zip_entry_escaping_the_folder_is_refused_and_nothing_is_written(
        shp, tmp_path, monkeypatch, evil):
    archive = zip_shapefile(shp, tmp_path / "grid.zip")
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr(evil, "pwned")
    work = tmp_path / "work"
    (work / "tmp").mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(work / "tmp"))
    with pytest.raises(InputFileError, match="会解压到目标文件夹之外"):
        read_vector(archive)
    assert [p.name for p in work.rglob("*")] == ["tmp"]


def test_zip_with_two_shapefiles_is_refused_naming_them(shp, tmp_path):
    archive = zip_shapefile(shp, tmp_path / "two.zip", stem="网格")
    zip_shapefile(shp, archive, stem="社区")
    with pytest.raises(InputFileError) as err:
        read_vector(archive)
    assert "网格.shp" in err.value.message and "社区.shp" in err.value.message


def test_zip_without_a_dataset_is_refused(tmp_path):
    archive = tmp_path / "docs.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("readme.txt", "网格数据")
    with pytest.raises(InputFileError, match=r"中没有 \.shp、\.gpkg 或 \.geojson 文件"):
        read_vector(archive)


def test_file_named_zip_that_is_not_a_zip_is_refused(tmp_path):
    fake = tmp_path / "grid.zip"
    fake.write_text("not an archive")
    with pytest.raises(InputFileError, match="不是有效的 zip 压缩包"):
        read_vector(fake)


def test_zip_extraction_folder_is_removed_after_reading(shp, tmp_path, monkeypatch):
    archive = zip_shapefile(shp, tmp_path / "grid.zip")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(work))
    read_vector(archive)
    assert list(work.iterdir()) == []


def test_error_inside_a_zip_names_the_zip(shp, tmp_path):
    shp.with_suffix(".prj").unlink()
    archive = zip_shapefile(copy_shapefile(shp, tmp_path / "copy", "单元网格"),
                            tmp_path / "交付.zip")
    with pytest.raises(CrsError) as err:
        read_vector(archive)
    assert "交付.zip" in err.value.message
    assert "citygrid-zip-" not in err.value.message



# CGCS2000 (geographic, 3- and 6-degree GK zones with and without the zone prefix), Beijing
# 1954, Xian 1980, WGS 84, web mercator, UTM, and a county's local transverse Mercator with no
# EPSG code: each fitting the test point (about 118.5°E, 30.9°N)
PRJ_CRSES = ["EPSG:4490", "EPSG:4549", "EPSG:4548", "EPSG:4528", "EPSG:4527", "EPSG:4498",
             "EPSG:4214", "EPSG:2437", "EPSG:4610", "EPSG:2385", "EPSG:4326", "EPSG:3857",
             "EPSG:32650",
             "+proj=tmerc +lat_0=0 +lon_0=118.5 +k=1 +x_0=50000 +y_0=-3000000 +ellps=GRS80 "
             "+units=m +no_defs"]


def test_a_prj_is_read_as_gdal_reads_it(tmp_path) -> None:
    """The point-shapefile path reads the .prj itself (prj_crs, no GDAL): the CRS must be the
    one GDAL's shapefile driver gives, EPSG code or WKT, for every .prj ogr2ogr writes."""
    import pyogrio
    from pyproj import CRS

    from gis import crs as crsmod
    from gis.crs import prj_crs
    from tests.filemaker import point_geojson

    for i, srs in enumerate(PRJ_CRSES):
        src = point_geojson(tmp_path / f"p{i}.geojson", X0, Y0, epsg=4549)
        shp = ogr2ogr(tmp_path / f"p{i}.shp", src, "-f", "ESRI Shapefile", "-t_srs", srs)
        gdal = pyogrio.read_info(shp)["crs"]
        ours = prj_crs(shp.with_suffix(".prj"))
        if gdal.startswith("EPSG:"):
            assert ours == gdal, srs
        else:           # no EPSG code: the same CRS, named the same
            assert ours is not None and not ours.startswith("EPSG:"), srs
            assert crsmod.same_crs(CRS(ours), CRS(gdal)), srs
            assert crsmod.describe(CRS(ours)) == crsmod.describe(CRS(gdal)), srs
        layer = read_vector(shp)
        assert layer.xy is not None                       # read by the point path
        assert crsmod.same_crs(layer.crs, CRS(gdal)), srs
    assert prj_crs(None) is None


def test_a_prj_that_says_nothing_readable_is_no_crs(tmp_path) -> None:
    from gis.crs import prj_crs

    prj = tmp_path / "bad.prj"
    prj.write_text("PROJCS[nonsense", encoding="utf-8")
    assert prj_crs(prj) is None
    prj.write_bytes(b"")
    assert prj_crs(prj) is None


def _rings_file(folder: Path, name: str, shapes: list[dict | None], *options: str) -> Path:
    """A polygon shapefile of these GeoJSON geometries (EPSG:4549), written by ogr2ogr."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    src = folder / f"{name}.geojson"
    src.write_text(json.dumps({
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4549"}},
        "features": [{"type": "Feature", "properties": {"编号": str(i)}, "geometry": g}
                     for i, g in enumerate(shapes)]}, ensure_ascii=False), encoding="utf-8")
    return ogr2ogr(folder / f"{name}.shp", src, "-f", "ESRI Shapefile", "-lco",
                   "ENCODING=CP936", "-nlt", "PROMOTE_TO_MULTI" if "multi" in name else "POLYGON",
                   *options)


def _ring(*xy: tuple[float, float]) -> list[list[float]]:
    return [[X0 + x, Y0 + y] for x, y in (*xy, xy[0])]


def _as_gdal_reads(shp: Path) -> list[bytes | None]:
    import pyogrio

    meta, table = pyogrio.read_arrow(shp, columns=[])
    wkb = table.column(meta["geometry_name"] or "wkb_geometry").to_pylist()
    geoms = shapely.force_2d(shapely.from_wkb(wkb))
    return [None if g is None else shapely.to_wkb(g) for g in geoms]


def _as_read(layer) -> list[bytes | None]:
    return [None if g is None else shapely.to_wkb(g) for g in layer.geometry]


def test_one_ring_polygons_read_from_the_shp_as_gdal_reads_them(tmp_path):
    """A unit-grid file (one ring a grid, or none) is read without GDAL: the same polygons,
    vertex for vertex and in the file's order, and the empty row as None."""
    from gis import shapefile

    shapes = [
        {"type": "Polygon", "coordinates": [_ring((0, 0), (0, 100), (100, 100), (100, 0))]},
        {"type": "Polygon", "coordinates": [_ring((200, 0), (300, 0), (300, 100), (200, 100))]},
        None,
        {"type": "Polygon", "coordinates": [_ring((400, 0), (400, 90), (450, 90), (450, 40),
                                                  (520.25, 40), (520.25, 0))]},   # an L
        {"type": "Polygon", "coordinates": [_ring((600, 0), (650, 80.125), (700, 0))]},
    ]
    shp = _rings_file(tmp_path, "grids", shapes)
    assert shapefile.polygon_records(shp, shp.with_suffix(".shx")) is not None
    layer = read_vector(shp)
    assert layer.report_crs() == "EPSG:4549"
    assert _as_read(layer) == _as_gdal_reads(shp)
    assert layer.geometry[2] is None
    assert list(layer.frame["编号"]) == ["0", "1", "2", "3", "4"]


@pytest.mark.parametrize("name, shapes, options", [
    ("holes", [{"type": "Polygon", "coordinates": [
        _ring((0, 0), (0, 100), (100, 100), (100, 0)),
        _ring((20, 20), (80, 20), (80, 80), (20, 80))]}], ()),
    ("multi", [{"type": "MultiPolygon", "coordinates": [
        [_ring((0, 0), (0, 100), (100, 100), (100, 0))],
        [_ring((200, 0), (200, 100), (300, 100), (300, 0))]]},
               {"type": "MultiPolygon", "coordinates": [
        [_ring((400, 0), (400, 100), (500, 100), (500, 0))]]}], ()),
    ("z", [{"type": "Polygon", "coordinates": [_ring((0, 0), (0, 100), (100, 100), (100, 0))]}],
     ("-dim", "XYZ")),
])
def test_other_polygon_files_are_read_by_gdal(tmp_path, name, shapes, options):
    """Holes, several parts, Z: left to GDAL, and read as GDAL reads them (in 2D)."""
    from gis import shapefile

    shp = _rings_file(tmp_path, name, shapes, *options)
    assert shapefile.polygon_records(shp, shp.with_suffix(".shx")) is None
    layer = read_vector(shp)
    assert _as_read(layer) == _as_gdal_reads(shp)
    assert not shapely.has_z(layer.geometry).any()


def test_reading_a_grid_shapefile_does_not_load_gdal(shp):
    """A grid or census command starts without pyogrio and geopandas (half a second)."""
    import subprocess
    import sys

    code = ("import sys; from gis.vector import read_vector; "
            f"layer = read_vector({str(shp)!r}); assert len(layer) == 2; "
            "print(sorted(m for m in ('pyogrio', 'geopandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parent.parent, check=True)
    assert out.stdout.strip() == "[]"
