"""The server keeps rendered tiles, and an import shows on the map at once all the same."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import geopandas as gpd
import shapely
from fastapi.testclient import TestClient

from api.app import create_app
from api.prerender import tile_box, tiles_over
from api.settings import Settings
from api.tiles import TileCache
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


@contextmanager
def prerendered(app: object, district: str, timeout: float = 120.0) -> Iterator[None]:
    """Wait, when the block ends, until the server has rendered `district`'s tiles again after
    the import the block committed: an event, not a poll."""
    done = threading.Event()

    def seen(code: str) -> None:
        if code == district:
            done.set()

    app.state.prerender.on_done.append(seen)  # type: ignore[attr-defined]
    try:
        yield
        assert done.wait(timeout), f"{district}'s tiles were not rendered within {timeout} s"
    finally:
        app.state.prerender.on_done.remove(seen)  # type: ignore[attr-defined]


def test_an_import_renders_its_districts_tiles_again_before_anyone_asks(city, tmp_path):
    url, _, index = city
    spot = index.districts["341802"].grid_geoms[40].representative_point()
    x, y = tile_of(spot.x, spot.y, 15)
    county = bearer(make_token(url, role="operator", districts="341802"))
    settings = Settings(database_url=url, tile_prerender_zooms="15")
    with TestClient(create_app(settings), headers=bearer(make_token(url))) as client:
        before = codes(client.get(f"/tiles/components/15/{x}/{y}.pbf").content,
                       tmp_path, x, y, 15)
        src = tmp_path / "又一井盖.geojson"
        gpd.GeoDataFrame({"标识码": ["3418020101999998"]}, crs=4490,
                         geometry=[spot]).to_crs(4549).to_file(src)
        with reloaded(client.app, "341802"), prerendered(client.app, "341802"):
            Cli(url, tmp_path)("import", "components", str(src), "--district", "341802")

        cache = client.app.state.tiles
        hits, misses = cache.hits, cache.misses
        # the first visits after the import, by the city's administrator and by the county's
        # own operator, are served from the cache, and show the new manhole cover
        for headers in ({}, county):
            tile = client.get(f"/tiles/components/15/{x}/{y}.pbf", headers=headers)
            assert tile.status_code == 200
            assert codes(tile.content, tmp_path, x, y, 15) == sorted(
                [*before, "3418020101999998"])
        assert (cache.hits - hits, cache.misses - misses) == (2, 0)
        # grids and outlines too; another zoom is rendered on demand
        assert client.get(f"/tiles/grids/15/{x}/{y}.pbf").status_code == 200
        assert client.get(f"/tiles/outlines/15/{x}/{y}.pbf").status_code == 200
        assert (cache.hits - hits, cache.misses - misses) == (4, 0)
        client.get(f"/tiles/components/16/{2 * x}/{2 * y}.pbf")
        assert cache.misses - misses == 1
        # one rendering kept for two callers' scopes is counted once
        shared = cache.peek(("components", 15, x, y, "341802"))
        assert shared is cache.peek(("components", 15, x, y, TileCache.EVERYWHERE))
        assert cache.bytes == sum(t.size for t in {id(t): t for _, t in
                                                   cache._tiles.values()}.values())

        detail = client.get("/health/detail").json()["tiles"]["prerender"]
        assert detail["zooms"] == [15] and detail["idle"]
        assert detail["last"]["district"] == "341802" and detail["last"]["complete"]
        assert detail["last"]["tiles"] >= 3


def test_a_tile_on_a_county_border_is_rendered_for_each_caller_as_they_see_it(city, tmp_path):
    """A tile that shows two counties differs by who asks: after an import, each caller's scope
    gets its own rendering, the same bytes a server renders on demand for that caller."""
    url, _, index = city
    grids = index.districts["341802"].grid_geoms
    cover = shapely.union_all(grids)
    maxx, maxy = shapely.total_bounds(grids)[2:]
    x, y = tile_of(maxx, maxy, 15)                    # the tile of 341802's north-east corner
    tx0, ty0, tx1, ty1 = tile_box(15, x, y)
    # a grid of a neighbouring county in the same tile, clear of 341802's grids
    side = 0.0006
    square = next(sq for i in range(1, 9) for j in range(1, 9)
                  if not (sq := shapely.box(tx0 + (tx1 - tx0) * i / 10,
                                            ty0 + (ty1 - ty0) * j / 10,
                                            tx0 + (tx1 - tx0) * i / 10 + side,
                                            ty0 + (ty1 - ty0) * j / 10 + side))
                  .buffer(0.0003).intersects(cover))
    src = tmp_path / "郎溪县网格.geojson"
    gpd.GeoDataFrame({"网格编码": ["34182100100101"]}, crs=4490,
                     geometry=[square]).to_crs(4549).to_file(src)
    cli = Cli(url, tmp_path)
    cli("district", "add", "341821", "--name", "郎溪县", "--crs", "EPSG:4549")

    both = bearer(make_token(url, role="operator", districts="341802,341821"))
    settings = Settings(database_url=url, tile_prerender_zooms="15")
    with TestClient(create_app(settings), headers=bearer(make_token(url))) as client:
        with reloaded(client.app, "341821"), prerendered(client.app, "341821"):
            cli("import", "grids", str(src), "--district", "341821", "--accept", "area")
        client.get(f"/tiles/grids/15/{x}/{y}.pbf", headers=both)     # a scope in use
        new = tmp_path / "路灯.geojson"
        gpd.GeoDataFrame({"标识码": ["3418020101999997"]}, crs=4490,
                         geometry=[grids[0].representative_point()]).to_crs(4549).to_file(new)
        with reloaded(client.app, "341802"), prerendered(client.app, "341802"):
            cli("import", "components", str(new), "--district", "341802")
        cache = client.app.state.tiles
        kept = {s: cache.peek(("grids", 15, x, y, s)) for s in ("341802", "*", "341802,341821")}

    assert all(kept.values()), kept
    assert kept["*"].data != kept["341802"].data          # type: ignore[union-attr]
    assert kept["*"].data == kept["341802,341821"].data   # type: ignore[union-attr]
    fresh = Settings(database_url=url, tile_cache_mb=0, tile_prerender_zooms="")
    with TestClient(create_app(fresh)) as uncached:
        for scope, headers in (("341802", bearer(make_token(url, role="operator",
                                                             districts="341802"))),
                               ("*", bearer(make_token(url))), ("341802,341821", both)):
            want = uncached.get(f"/tiles/grids/15/{x}/{y}.pbf", headers=headers).content
            assert kept[scope].data == want, scope      # type: ignore[union-attr]
    assert "34182100100101" in codes(kept["*"].data, tmp_path, x, y, 15)  # type: ignore[union-attr]


def test_tiles_over_a_box_are_the_tiles_of_its_corners_and_all_between():
    box = (118.7488, 30.9354, 118.7682, 30.9486)
    found = set(tiles_over(box, 15))
    (x0, y1), (x1, y0) = tile_of(box[0], box[1], 15), tile_of(box[2], box[3], 15)
    assert found == {(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)}
    for x, y in found:
        west, south, east, north = tile_box(15, x, y)
        assert tile_of(west + 1e-9, north - 1e-9, 15) == (x, y)
        assert tile_of(east - 1e-9, south + 1e-9, 15) == (x, y)
