"""gis.crs: parsing what users type, naming ESRI .prj files, axis order, and coordinates that
contradict the CRS they claim."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyproj import CRS

from gis import crs as crsmod
from gis.errors import CrsError
from tests.filemaker import first_point, ogr2ogr, point_geojson, shapefile

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
XUANZHOU_PRJ = SAMPLES / "341802_xuanzhou" / "单元网格.prj"

# A point in 宣城 in EPSG:4549 (lon ≈ 118.75, lat ≈ 30.94)
X, Y = 380_436.0, 3_424_478.0
# 100 m boxes around it: as EPSG:4549 writes it, with the zone prefix of EPSG:4528, and in degrees
BOX_4549 = (380_400.0, 3_424_400.0, 380_500.0, 3_424_500.0)
BOX_4528 = (40_380_400.0, 3_424_400.0, 40_380_500.0, 3_424_500.0)
BOX_LONLAT = (118.748, 30.934, 118.750, 30.936)
BOX_LATLON = (30.934, 118.748, 30.936, 118.750)


# -- parse_crs, describe -----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["EPSG:4549", "4549", 4549, " epsg:4549 "])
def test_parse_crs_accepts_what_users_type(text):
    assert crsmod.describe(crsmod.parse_crs(text)) == "EPSG:4549"


@pytest.mark.parametrize("text", ["garbage", "EPSG:99999", ""])
def test_parse_crs_refuses_an_unknown_crs_naming_it(text):
    with pytest.raises(CrsError) as err:
        crsmod.parse_crs(text)
    assert f"未知的坐标系 {text!r}" in err.value.message


def test_describe_names_an_esri_prj_by_its_epsg_code():
    wkt = XUANZHOU_PRJ.read_text()
    assert wkt.startswith('PROJCS["CGCS2000_3_Degree_GK_CM_120E"')
    assert "EPSG" not in wkt and "AUTHORITY" not in wkt  # the point: no code in the file
    assert crsmod.describe(CRS.from_wkt(wkt)) == "EPSG:4549"


def test_describe_names_the_zone_prefixed_esri_prj_gdal_writes(tmp_path):
    shp = shapefile(tmp_path, [{"a": 1}], assign_srs="EPSG:4528")
    wkt = shp.with_suffix(".prj").read_text()
    assert "GK_Zone_40" in wkt and "AUTHORITY" not in wkt
    assert crsmod.describe(CRS.from_wkt(wkt)) == "EPSG:4528"


# -- axis order --------------------------------------------------------------------------------


def test_transformer_to_storage_gives_lon_lat_as_gdal_does(tmp_path):
    lon, lat = crsmod.transformer(CRS.from_epsg(4549), crsmod.STORAGE_CRS).transform(X, Y)
    assert 118.7 < lon < 118.8 and 30.9 < lat < 31.0
    src = point_geojson(tmp_path / "p4549.geojson", X, Y, epsg=4549)
    out = ogr2ogr(tmp_path / "p4490.geojson", src, "-t_srs", "EPSG:4490")
    gdal_lon, gdal_lat = first_point(out)
    assert lon == pytest.approx(gdal_lon, abs=1e-9)
    assert lat == pytest.approx(gdal_lat, abs=1e-9)


def test_transformer_from_an_esri_prj_gives_lon_lat():
    esri = CRS.from_wkt(XUANZHOU_PRJ.read_text())
    lon, lat = crsmod.transformer(esri, crsmod.STORAGE_CRS).transform(X, Y)
    assert 118.7 < lon < 118.8 and 30.9 < lat < 31.0


def test_transformer_from_storage_takes_lon_lat(tmp_path):
    src = point_geojson(tmp_path / "p4490.geojson", 118.75, 30.94, epsg=4490)
    gdal_x, gdal_y = first_point(ogr2ogr(tmp_path / "p4549.geojson", src, "-t_srs", "EPSG:4549"))
    x, y = crsmod.transformer(crsmod.STORAGE_CRS, CRS.from_epsg(4549)).transform(118.75, 30.94)
    assert x == pytest.approx(gdal_x, abs=1e-3)
    assert y == pytest.approx(gdal_y, abs=1e-3)


# -- Gauss-Krüger zones ------------------------------------------------------------------------


@pytest.mark.parametrize("lon, epsg, cm", [(118.75, 4549, 120), (117.0, 4548, 117),
                                           (135.0, 4554, 135), (121.4, 4549, 120),
                                           (75.0, 4534, 75)])
def test_gk3_crs_for_lon_is_the_zone_of_the_longitude(lon, epsg, cm):
    crs = crsmod.gk3_crs_for_lon(lon)
    assert crs.to_epsg() == epsg
    assert crs.name == f"CGCS2000 / 3-degree Gauss-Kruger CM {cm}E"


# -- coordinates that contradict the CRS -------------------------------------------------------


def test_gk_coordinates_in_their_own_crs_are_accepted():
    assert crsmod.check_coordinates(BOX_4549, CRS.from_epsg(4549), "the file's .prj") is None


def test_zone_prefixed_coordinates_in_their_own_crs_are_accepted():
    assert crsmod.check_coordinates(BOX_4528, CRS.from_epsg(4528), "the file's .prj") is None


def test_lonlat_in_storage_crs_is_accepted():
    assert crsmod.check_coordinates(BOX_LONLAT, CRS.from_epsg(4490), "--crs") is None


def test_zone_prefixed_eastings_declared_without_prefix_suggest_4528():
    with pytest.raises(CrsError) as err:
        crsmod.check_coordinates(BOX_4528, CRS.from_epsg(4549), "the file's .prj")
    assert "EPSG:4528" in err.value.message
    assert "EPSG:4549" in err.value.message  # what was declared


def test_unprefixed_eastings_declared_zone_prefixed_suggest_4549():
    with pytest.raises(CrsError) as err:
        crsmod.check_coordinates(BOX_4549, CRS.from_epsg(4528), "--crs")
    assert "可试用 --crs EPSG:4549" in err.value.message


def test_swapped_lat_lon_in_storage_crs_is_refused_saying_longitude_first():
    with pytest.raises(CrsError) as err:
        crsmod.check_coordinates(BOX_LATLON, CRS.from_epsg(4490), "--crs")
    assert "坐标像是（纬度，经度）" in err.value.message
    assert "经度应在前" in err.value.message


@pytest.mark.parametrize("epsg", [4549, 4528])
def test_degrees_declared_as_projected_suggest_4490(epsg):
    with pytest.raises(CrsError) as err:
        crsmod.check_coordinates(BOX_LONLAT, CRS.from_epsg(epsg), "--crs")
    assert "像是经纬度" in err.value.message
    assert "请用 --crs EPSG:4490" in err.value.message


def test_northing_first_coordinates_are_refused():
    x0, y0, x1, y1 = BOX_4549
    with pytest.raises(CrsError, match=r"像是 EPSG:4549 的（北坐标，东坐标）：两列颠倒了"):
        crsmod.check_coordinates((y0, x0, y1, x1), CRS.from_epsg(4549), "--crs")


def test_zone_prefixed_metres_declared_as_degrees_suggest_4528():
    with pytest.raises(CrsError) as err:
        crsmod.check_coordinates(BOX_4528, CRS.from_epsg(4490), "--crs")
    assert "EPSG:4528" in err.value.message


def test_message_says_where_the_wrong_crs_came_from():
    with pytest.raises(CrsError, match=r"与坐标系 EPSG:4549（文件的 \.prj 所述）不符"):
        crsmod.check_coordinates(BOX_4528, CRS.from_epsg(4549), "the file's .prj")


# -- projected CRS in metres -------------------------------------------------------------------


def test_require_projected_metres_refuses_the_geographic_storage_crs():
    with pytest.raises(CrsError) as err:
        crsmod.require_projected_metres(CRS.from_epsg(4490), "district CRS")
    assert "EPSG:4490" in err.value.message
    assert "不是以米为单位的投影坐标系" in err.value.message


def test_require_projected_metres_accepts_a_gauss_kruger_zone():
    crs = CRS.from_epsg(4549)
    assert crsmod.require_projected_metres(crs, "district CRS") is crs
