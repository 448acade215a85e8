"""Vector tiles as clients get them: gzip-compressed with an ETag (304 for a copy that is
current), every layer in one tile, described by TileJSON 3.0.0, and a county's grids and
outlines at the zooms a whole county is seen at. Tiles are read by GDAL (its MVT driver)."""

from __future__ import annotations

import gzip
import re
import subprocess
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from api.tiles import ALL, LAYERS
from tests.conftest import bearer, make_token
from tests.test_features import tile_of

A, B = "341802", "341881"


@pytest.fixture(scope="module")
def client(city, admin_token):
    with TestClient(create_app(Settings(database_url=city[0])),
                    headers=bearer(admin_token)) as c:
        yield c


def lonlat(city, code, point):
    """A point of the lookup index's local frame of a district in longitude/latitude."""
    d = city[2].districts[code]
    return d.frame.lon0 + point.x / d.frame.kx, d.frame.lat0 + point.y / d.frame.ky


@pytest.fixture(scope="module")
def centre(city):
    """A point of county A where every layer has features."""
    cc = next(iter(city[2].districts[A].components.values()))
    return lonlat(city, A, cc.geom(0).representative_point())


def layers(data: bytes, z: int, x: int, y: int, tmp_path: Path) -> dict[str, dict[str, int]]:
    """Each MVT layer of the tile with, per attribute, how many of its features carry it (and
    the features, under ""), as GDAL reads them."""
    path = tmp_path / f"tile-{time.monotonic_ns()}.pbf"
    path.write_bytes(data)
    out = subprocess.run(["ogrinfo", "-al", "-q", "-oo", f"X={x}", "-oo", f"Y={y}", "-oo",
                          f"Z={z}", str(path)], capture_output=True, text=True, check=True).stdout
    found: dict[str, dict[str, int]] = {}
    layer: dict[str, int] = {}
    for line in out.splitlines():
        if m := re.match(r"Layer name: (\S+)", line):
            layer = found.setdefault(m.group(1), {"": 0})
        elif line.startswith("OGRFeature("):
            layer[""] += 1
        elif m := re.match(r"\s+(\w+) \(\w+\) = ", line):
            layer[m.group(1)] = layer.get(m.group(1), 0) + 1
    return found


def raw(client: TestClient, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and the body as sent (not decompressed)."""
    with client.stream("GET", path, headers=headers) as resp:
        return resp.status_code, dict(resp.headers), b"".join(resp.iter_raw())


# -- gzip, ETag, 304 --------------------------------------------------------------------------


def test_tiles_are_gzipped_with_an_etag_and_304_when_current(client, centre, tmp_path):
    x, y = tile_of(*centre, 16)
    path = f"/tiles/components/16/{x}/{y}.pbf"
    status, plain_headers, plain = raw(client, path, **{"Accept-Encoding": "identity"})
    assert status == 200 and len(plain) > 1000
    assert "content-encoding" not in plain_headers
    status, headers, packed = raw(client, path, **{"Accept-Encoding": "gzip, deflate"})
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert gzip.decompress(packed) == plain and len(packed) < len(plain) / 2
    assert headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert "Accept-Encoding" in headers["vary"] and "private" in headers["cache-control"]
    etag = headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}-gz"', etag)                 # strong, not W/
    assert plain_headers["etag"] == etag.removesuffix('-gz"') + '"'  # one digest, two codings

    # the cache keeps the tile compressed, with its ETag: a second request is a hit
    cache = client.app.state.tiles
    hits = cache.hits
    again = raw(client, path, **{"Accept-Encoding": "gzip"})
    assert again[2] == packed and again[1]["etag"] == etag and cache.hits == hits + 1

    status, headers, body = raw(client, path, **{"Accept-Encoding": "gzip",
                                                 "If-None-Match": f'"x", W/{etag}'})
    assert status == 304 and body == b"" and headers["etag"] == etag
    assert "content-encoding" not in headers
    assert raw(client, path, **{"Accept-Encoding": "gzip", "If-None-Match": '"other"'})[0] == 200
    # the identity copy's ETag does not confirm the gzip one, nor the other way round
    assert raw(client, path, **{"Accept-Encoding": "gzip",
                                "If-None-Match": plain_headers["etag"]})[0] == 200
    assert raw(client, path, **{"Accept-Encoding": "identity",
                                "If-None-Match": plain_headers["etag"]})[0] == 304
    assert raw(client, path, **{"Accept-Encoding": "gzip;q=0"})[1].get("content-encoding") is None

    # the ETag is the bytes': a server without a cache (or restarted) gives the same one
    with TestClient(create_app(Settings(database_url=client.app.state.context.settings
                                        .database_url, tile_cache_mb=0)),
                    headers={"Authorization": client.headers["Authorization"]}) as cold:
        assert raw(cold, path, **{"Accept-Encoding": "gzip"})[1]["etag"] == etag
    assert layers(gzip.decompress(packed), 16, x, y, tmp_path)["components"][""] > 10


# -- every layer in one tile, TileJSON ----------------------------------------------------------


def check_tilejson(doc: dict) -> None:
    """The structure TileJSON 3.0.0 asks for (github.com/mapbox/tilejson-spec, 3.0.0/README)."""
    assert doc["tilejson"] == "3.0.0"
    assert doc["tiles"] and all(isinstance(t, str) for t in doc["tiles"])
    for key in ("name", "description", "attribution"):
        assert isinstance(doc.get(key, ""), str)
    assert doc.get("scheme", "xyz") in ("xyz", "tms")
    minzoom, maxzoom = doc.get("minzoom", 0), doc.get("maxzoom", 30)
    assert all(isinstance(z, int) for z in (minzoom, maxzoom)) and 0 <= minzoom <= maxzoom <= 30
    west, south, east, north = doc["bounds"]
    assert -180 <= west <= east <= 180 and -90 <= south <= north <= 90
    lon, lat, zoom = doc["center"]
    assert west <= lon <= east and south <= lat <= north and minzoom <= zoom <= maxzoom
    assert doc["vector_layers"], "vector tiles need vector_layers"
    for layer in doc["vector_layers"]:
        assert isinstance(layer["id"], str) and isinstance(layer.get("description", ""), str)
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in layer["fields"].items())
        assert minzoom <= layer.get("minzoom", minzoom) <= layer.get("maxzoom", maxzoom) \
            <= maxzoom


def test_tilejson_describes_the_tiles_it_points_to(client, city, centre, tmp_path):
    doc = client.get("/tiles.json").json()
    check_tilejson(doc)
    assert doc["tiles"] == ["http://testserver/tiles/all/{z}/{x}/{y}.pbf"]
    assert doc["minzoom"] == 6 and doc["maxzoom"] == 18
    documented = {v["id"]: v for v in doc["vector_layers"]}
    assert set(documented) == {"grids", "streets", "communities", "components"}
    assert documented["grids"]["minzoom"] == LAYERS["grids"].minzoom == 9
    # the bounds are those of both counties' grids
    west, south, east, north = doc["bounds"]
    for code in (A, B):
        lon, lat = lonlat(city, code, city[2].districts[code].grid_geoms[0].centroid)
        assert west < lon < east and south < lat < north, code

    x, y = tile_of(*centre, 16)
    resp = client.get(doc["tiles"][0].format(z=16, x=x, y=y))
    assert resp.status_code == 200
    found = layers(resp.content, 16, x, y, tmp_path)
    assert set(found) == set(documented)
    for name, counts in found.items():
        assert counts[""] > 0, name
        assert set(counts) - {""} <= set(documented[name]["fields"]), name
    assert set(found["grids"]) - {""} == set(documented["grids"]["fields"])
    # the combined tile is the layers' tiles one after the other
    parts = b"".join(client.get(f"/tiles/{name}/16/{x}/{y}.pbf").content for name in LAYERS)
    assert resp.content == parts

    one = client.get("/tiles/grids.json").json()
    check_tilejson(one)
    assert one["tiles"] == ["http://testserver/tiles/grids/{z}/{x}/{y}.pbf"]
    assert [v["id"] for v in one["vector_layers"]] == ["grids"] and one["minzoom"] == 9
    outlines = client.get("/tiles/outlines.json").json()
    assert [v["id"] for v in outlines["vector_layers"]] == ["streets", "communities"]
    assert client.get(f"/tiles/{ALL}.json").json() == doc
    assert client.get("/tiles/roads.json").status_code in (400, 404, 422)


def test_tilejson_is_bounded_by_the_callers_districts(client, city):
    everything = client.get("/tiles.json").json()["bounds"]
    only_b = client.get("/tiles.json", headers=bearer(make_token(city[0], "operator", B)))
    bounds = only_b.json()["bounds"]
    assert only_b.headers["cache-control"].startswith("private")
    assert everything[0] <= bounds[0] and bounds[2] <= everything[2]
    assert bounds != everything                     # the two counties are apart
    anonymous = TestClient(client.app).get("/tiles.json").json()
    check_tilejson(anonymous)
    assert anonymous["bounds"] == [-180.0, -85.051129, 180.0, 85.051129]


# -- a whole county: grids from zoom 9, outlines from zoom 6 -----------------------------------


def test_a_county_is_drawn_at_the_zooms_it_fits(client, centre, tmp_path):
    for layer, z in (("grids", 9), ("grids", 11), ("outlines", 6)):
        x, y = tile_of(*centre, z)
        resp = client.get(f"/tiles/{layer}/{z}/{x}/{y}.pbf")
        assert resp.status_code == 200 and resp.content, (layer, z)
        found = layers(resp.content, z, x, y, tmp_path)
        counted = found["grids" if layer == "grids" else "streets"]
        assert counted[""] > 0, (layer, z)
        if layer == "grids":
            # a pattern at county scale: streets and communities, not each grid's code and
            # area; the outlines simplified to the tile's resolution: a few bytes a grid
            assert counted.get("street") == counted[""] and "code" not in counted
            assert len(resp.content) < 40 * counted[""], (z, len(resp.content), counted)
    x, y = tile_of(*centre, 12)
    near = layers(client.get(f"/tiles/grids/12/{x}/{y}.pbf").content, 12, x, y, tmp_path)
    assert near["grids"]["code"] == near["grids"][""] > 0
    for layer, z in (("grids", 8), ("outlines", 5), ("components", 13)):
        x, y = tile_of(*centre, z)
        assert client.get(f"/tiles/{layer}/{z}/{x}/{y}.pbf").content == b"", (layer, z)
