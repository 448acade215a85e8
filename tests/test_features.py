"""Vector tiles and OGC API – Features, read by GDAL (its MVT and OAPIF drivers): clients that
citygrid did not write."""

from __future__ import annotations

import json
import math
import os
import subprocess

import pytest
import requests


def tile_of(lon, lat, z):
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


TOKEN: dict[str, str] = {}


def ogr(*args):
    env = {**os.environ, "GDAL_HTTP_HEADERS": f"Authorization: Bearer {TOKEN['admin']}"}
    result = subprocess.run(["ogrinfo", *args], capture_output=True, text=True, timeout=120,
                            env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def http(admin_token):
    """HTTP with the city administrator's token; GDAL gets it through its environment."""
    TOKEN["admin"] = admin_token
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {admin_token}"
        yield session


@pytest.fixture(scope="module")
def centre(city):
    _, _, index = city
    g = index.districts["341802"].grid_geoms[40].representative_point()
    return g.x, g.y


def test_vector_tiles_read_by_gdal(live, centre, tmp_path, http):
    x, y = tile_of(*centre, 16)
    for layer, expect in (("grids", "code"), ("components", "class"), ("outlines", "name")):
        resp = http.get(f"{live}/tiles/{layer}/16/{x}/{y}.pbf", timeout=30)
        assert resp.status_code == 200
        assert resp.headers["content-type"] == "application/vnd.mapbox-vector-tile"
        path = tmp_path / f"{layer}.pbf"
        path.write_bytes(resp.content)
        info = ogr("-so", "-al", "-oo", f"X={x}", "-oo", f"Y={y}", "-oo", "Z=16", str(path))
        assert f"{expect}: String" in info, info
        assert "Feature Count: 0" not in info


def test_tiles_below_a_layers_zoom_are_empty_and_bad_tiles_refused(live, http):
    assert http.get(f"{live}/tiles/components/10/850/420.pbf").content == b""
    bad = http.get(f"{live}/tiles/components/3/9/1.pbf")
    assert bad.status_code == 400 and "not a tile of zoom 3" in bad.json()["error"]["message"]
    assert http.get(f"{live}/tiles/roads/15/1/1.pbf").status_code == 400


def test_ogc_api_features_with_gdal(live, http):
    info = ogr("-so", f"OAPIF:{live}", "grids")
    assert "Feature Count: 495" in info and "community: String" in info
    counts = {kind: ogr("-so", f"OAPIF:{live}", f"components-{kind}")
              for kind in ("points", "lines", "polygons")}
    assert sum(int(info.split("Feature Count: ")[1].split()[0])
               for info in counts.values()) == 4810             # the census, one type a layer
    assert "Geometry: Point" in counts["points"]
    assert "Geometry: Multi Line String" in counts["lines"]
    assert "Geometry: Multi Polygon" in counts["polygons"]
    listed = ogr(f"OAPIF:{live}")
    for name in ("grids", "streets", "communities", "components-points", "components-lines",
                 "components-polygons", "cases"):
        assert name in listed


def test_ogc_items_paging_bbox_and_crs(live, centre, http):
    lon, lat = centre
    url = f"{live}/collections/grids/items"
    page = http.get(url, params={"limit": 50}).json()
    assert page["numberMatched"] == 495 and page["numberReturned"] == 50
    nxt = next(link["href"] for link in page["links"] if link["rel"] == "next")
    second = http.get(nxt).json()
    assert {f["id"] for f in second["features"]}.isdisjoint({f["id"] for f in page["features"]})
    bbox = f"{lon - 0.001},{lat - 0.001},{lon + 0.001},{lat + 0.001}"
    near = http.get(url, params={"bbox": bbox}).json()
    assert 1 <= near["numberMatched"] <= 12
    one = near["features"][0]
    ring = one["geometry"]["coordinates"][0][0]
    assert 118 < ring[0][0] < 120 and 30 < ring[0][1] < 32           # CRS84: lon, lat
    latlon = http.get(url, params={"bbox": bbox, "crs": "http://www.opengis.net/def/crs/"
                                                            "EPSG/0/4490"})
    assert latlon.headers["Content-Crs"] == "<http://www.opengis.net/def/crs/EPSG/0/4490>"
    swapped = latlon.json()["features"][0]["geometry"]["coordinates"][0][0][0]
    assert swapped == pytest.approx([ring[0][1], ring[0][0]], abs=1e-9)   # EPSG:4490: lat, lon
    gk = http.get(url, params={"bbox": bbox, "crs": "EPSG:4549"}).json()
    northing, easting = gk["features"][0]["geometry"]["coordinates"][0][0][0]
    assert 3.4e6 < northing < 3.5e6 and 3.5e5 < easting < 4.5e5        # GK: northing first
    by_gk = http.get(url, params={"bbox": f"{northing - 5},{easting - 5},{northing + 5},"
                                              f"{easting + 5}", "bbox-crs": "EPSG:4549"}).json()
    assert one["id"] in {f["id"] for f in by_gk["features"]}
    bad = http.get(url, params={"crs": "EPSG:3857"})
    assert bad.status_code == 400 and "not offered" in bad.json()["error"]["message"]


def test_one_feature_and_the_landing_page(live, http):
    item = http.get(f"{live}/collections/grids/items/34180200100101").json()
    assert item["id"] == "34180200100101" and item["properties"]["street"] == "澄江街道"
    assert http.get(f"{live}/collections/grids/items/nope").status_code == 404
    landing = http.get(live, headers={"Accept": "application/json"}).json()
    assert {link["rel"] for link in landing["links"]} >= {"conformance", "data"}
    html = http.get(live, headers={"Accept": "text/html"}).text
    assert "maplibre-gl.js" in html and "https://" not in html.split("<body>")[0]


def test_search(live, http):
    assert http.get(f"{live}/search", params={"q": "34180200100101"}).json()["type"] == \
        "grid"
    found = http.get(f"{live}/search", params={"q": "3418020101000001"}).json()
    assert found["type"] == "component" and found["geometry"]["type"] == "Point"
    assert http.get(f"{live}/search", params={"q": "xyz"}).status_code == 400


__all__ = ["json"]


def _codes(path, x, y, z):
    """The `code` of every feature of every layer of a tile, as GDAL reads it."""
    out = ogr("-al", "-q", "-oo", f"X={x}", "-oo", f"Y={y}", "-oo", f"Z={z}", str(path))
    return sorted(line.split("=", 1)[1].strip() for line in out.splitlines()
                  if line.strip().startswith("code (String) ="))


def test_tiles_are_the_plain_statements_confined(live, centre, city, tmp_path, http):
    """The tile functions (owner's rights, explicit confinement) give the features of the
    plain statements of api/sql, the same that the map's users saw before they existed."""
    import sqlalchemy as sa

    from api.tiles import LAYERS, plain_statement

    _, engine, _ = city
    x, y = tile_of(*centre, 16)
    for layer in LAYERS:
        served = tmp_path / f"{layer}-served.pbf"
        served.write_bytes(http.get(f"{live}/tiles/{layer}/16/{x}/{y}.pbf", timeout=30).content)
        with engine.connect() as conn:
            plain = conn.execute(sa.text(plain_statement(layer)),
                                 {"z": 16, "x": x, "y": y, "codes": ["341802", "341881"]})
            (tmp_path / f"{layer}-plain.pbf").write_bytes(bytes(plain.scalar() or b""))
        codes = _codes(served, x, y, 16)
        assert codes, layer
        assert codes == _codes(tmp_path / f"{layer}-plain.pbf", x, y, 16), layer
