"""The server keeps rendered tiles, and an import shows on the map at once all the same."""

from __future__ import annotations

import subprocess
import time

import geopandas as gpd
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from tests.conftest import Cli, bearer, make_token, reloaded
from tests.test_features import tile_of


def codes(data: bytes, tmp_path, x: int, y: int, z: int) -> list[str]:
    """The `code` of every feature of the tile, as GDAL reads it."""
    path = tmp_path / f"tile-{time.monotonic_ns()}.pbf"
    path.write_bytes(data)
    out = subprocess.run(["ogrinfo", "-al", "-q", "-oo", f"X={x}", "-oo", f"Y={y}", "-oo",
                          f"Z={z}", str(path)], capture_output=True, text=True, check=True).stdout
    return sorted(line.split("=", 1)[1].strip() for line in out.splitlines()
                  if line.strip().startswith("code (String) ="))


def test_tiles_are_kept_until_an_import_changes_their_district(city, tmp_path):
    url, _, index = city
    spot = index.districts["341802"].grid_geoms[40].representative_point()
    x, y = tile_of(spot.x, spot.y, 16)
    path = f"/tiles/components/16/{x}/{y}.pbf"
    county = make_token(url, role="operator", districts="341881")   # another county
    with TestClient(create_app(Settings(database_url=url)),
                    headers=bearer(make_token(url))) as client:
        cache = client.app.state.tiles
        first = client.get(path)
        assert first.status_code == 200 and first.content
        assert client.get(path).content == first.content
        assert cache.hits == 1
        # a caller who may see other districts gets their own tile, not the cached one
        assert client.get(path, headers=bearer(county)).content == b""
        before = codes(first.content, tmp_path, x, y, 16)

        src = tmp_path / "新井盖.geojson"
        gpd.GeoDataFrame({"标识码": ["3418020101999999"]}, crs=4490,
                         geometry=[spot]).to_crs(4549).to_file(src)
        with reloaded(client.app, "341802"):
            Cli(url, tmp_path)("import", "components", str(src), "--district", "341802")
        after = codes(client.get(path).content, tmp_path, x, y, 16)
        assert after == sorted([*before, "3418020101999999"])
