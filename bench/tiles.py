"""tiles: vector tiles of the 1,000,000-component census at z15, `GET /tiles/components/15/{x}/
{y}.pbf`, through HTTP with a token, against the tile's SQL run directly in PostGIS.

The server is citygrid's own (`python -m api serve`, one uvicorn worker) on a throwaway database
with the 10,000 grids and the census; the tiles are every z15 tile that covers the grids' extent
(about 11 × 11 at scale 1, ~10,000 components in a full one). Ours is one GET per tile on a
keep-alive connection with `Authorization: Bearer <city_admin token>`: token check, a session as
the application role confined to the token's districts, `citygrid_tile_components(z, x, y)`
(made from api/sql/tile_components.sql by api.tiles.install_functions), the response. The anchor
is the statement of api/sql/tile_components.sql itself (`ST_AsMVT` over `ST_AsMVTGeom`, the same
parameters and districts) run by the database owner on one open connection, for the same
tiles, with the settings the function runs with (no JIT, no parallel workers: both cost more
than a tile; the anchor is the best the bare statement does). Both must give tiles of the same
features (decoded, compared by code, on a sample of the tiles).

The server's tile cache is switched off (CITYGRID_TILE_CACHE_MB=0): ours renders every tile, as
a server that kept nothing would. Every tile is timed on its own; a run's figure is its median
tile, runs alternate ours, anchor, … after one warm-up pass of each (the first pass reads the
table into shared buffers). The target is a median of at most 30 ms for components. The summary
adds the first visit after an import, the issue's row: a server with its defaults (cache on, the
changed district's z14–z16 tiles rendered again in the background after an import) is visited
once, `citygrid import components` adds a component, and once the server says (/health/detail)
that it has rendered the district's tiles again, every tile's first visit is timed (and whether
the cache served it), then a later one. Grid tiles at z15 (api/sql/tile_grids.sql)
are measured the same way and summarised after the ratio. The notes (--verbose) add the tile
function called by the application role under row-level security (without HTTP; on the sample
of tiles that is checked), to tell the database's share from the server's. --profile prints the
database's profile instead of Python's: EXPLAIN (ANALYZE, BUFFERS) of the central tile's plain
statement as the owner.
"""

from __future__ import annotations

import gc
import http.client
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from api.settings import Settings
from api.tiles import plain_statement
from bench.city import City, city_database
from bench.databases import ROOT
from bench.measure import Benchmark, MeasurementFailed, Result, Run, Timings, log, seconds
from bench.server import Server, admin_token, serving
from gis.db import app_url, make_engine
from gis.tenancy import DISTRICTS_SETTING

ZOOM = 15
TARGET_S = 0.030
LAYERS = ("components", "grids")

Tile = tuple[int, int, int]


def measure(run: Run) -> Result:
    with city_database("tiles", run.scale) as city:
        token = admin_token(city.url)
        tiles = covering_tiles(city)
        log(f"  tiles: {len(tiles)} z{ZOOM} tiles cover the grids")
        owner = make_engine(city.url)
        app = make_engine(app_url(Settings(database_url=city.url), city.url))
        try:
            with serving(city.url, "tiles", settings=NO_CACHE) as server, \
                    owner.connect() as plain, app.connect() as confined:
                sides: dict[str, Callable[[Tile], bytes]] = {}
                plain.execute(sa.text(ANCHOR_SETTINGS))
                plain.commit()
                for layer in LAYERS:
                    sides[f"{layer} ours"] = HttpSide(server, token, layer)
                    sides[f"{layer} anchor"] = sql_side(plain, sa.text(plain_statement(layer)),
                                                        [city.layout.district])
                    sides[f"{layer} rls"] = rls_side(
                        confined, sa.text(f"SELECT citygrid_tile_{layer}(:z, :x, :y)"),
                        city.layout.district)
                sample = tiles[::max(1, len(tiles) // CHECKED)]
                checked = check(sides, sample)
                log(f"  tiles: {checked}")

                def tiles_of(name: str) -> list[Tile]:
                    # the confined SQL is a diagnosis, not the anchor: the sample is enough
                    return sample if name.endswith(" rls") else tiles

                for name, side in sides.items():    # warm-up: shared buffers, connections
                    per_tile(side, tiles_of(name))
                times: dict[str, list[float]] = {k: [] for k in sides}
                all_tiles: dict[str, list[np.ndarray]] = {k: [] for k in sides}
                for i in range(run.repeat):
                    for name, side in sides.items():
                        each = per_tile(side, tiles_of(name))
                        all_tiles[name].append(each)
                        times[name].append(float(np.median(each)))
                    log(f"  tiles {i + 1}/{run.repeat}: median tile: " + ", ".join(
                        f"{k} {seconds(v[-1])}" for k, v in times.items()))
                if run.profile is not None:
                    explain(run, plain, tiles[len(tiles) // 2], city.layout.district)
                counts = feature_counts(plain, tiles)
            later = after_import(city, token, tiles, run.repeat)
        finally:
            owner.dispose()
            app.dispose()

    def median(name: str) -> float:
        return statistics.median(times[name])

    comp = Timings(times["components ours"], times["components anchor"])
    grids = Timings(times["grids ours"], times["grids anchor"])
    met = "met" if comp.ours_median <= TARGET_S else "MISSED"
    served = "met" if later.misses == 0 else f"MISSED ({later.misses} not from the cache)"
    summary = (f"components ≤ 30 ms: {met}; first visit after an import "
               f"{seconds(later.first)} (ratio {later.first / comp.anchor_median:.2f}), "
               f"rendered again {seconds(later.prerender)} after it; served from the cache: "
               f"{served}; later visits {seconds(later.from_cache)}; grids z{ZOOM}: ours "
               f"{seconds(grids.ours_median)}, anchor {seconds(grids.anchor_median)}, ratio "
               f"{grids.ratio:.2f}")
    notes = [
        f"{len(tiles)} z{ZOOM} tiles, each timed alone; a run's figure is its median tile; "
        f"components per tile: median {int(np.median(counts)):,}, max {max(counts):,}",
        *(f"{layer}: ours {seconds(median(f'{layer} ours'))}, plain SQL "
          f"{seconds(median(f'{layer} anchor'))}, tile function as {APP_ROLE_NOTE} "
          f"{seconds(median(f'{layer} rls'))} ({len(all_tiles[f'{layer} rls'][0])} of the "
          f"tiles); slowest tile of ours "
          f"{seconds(max(float(a.max()) for a in all_tiles[f'{layer} ours']))}"
          for layer in LAYERS),
        checked,
    ]
    return Result(size=f"{city.size}, {len(tiles)} tiles", timings=comp, notes=notes,
                  summary=summary)


APP_ROLE_NOTE = "citygrid_app under row-level security"
NO_CACHE = {"CITYGRID_TILE_CACHE_MB": "0"}


@dataclass(frozen=True)
class AfterImport:
    first: float          # median tile of the first visit after an import (pre-rendered)
    from_cache: float     # median tile of the next visits
    prerender: float      # seconds from the import's end to its tiles rendered again
    misses: int           # tiles of the first visits that the cache did not have


def after_import(city: City, token: str, tiles: list[Tile], repeat: int) -> AfterImport:
    """A server with its tile cache on and pre-rendering after imports (the defaults): its
    tiles are visited once, then `citygrid import components` adds a manhole cover to the
    district (its own process, as a user runs it), which drops every tile of the district; once
    the server has rendered them again, the first visit of every tile is timed, then the next
    ones."""
    headers = {"Authorization": f"Bearer {token}"}
    first, cached, ready, missed = [], [], [], 0
    with serving(city.url, "tiles (cache on)") as server:
        side = HttpSide(server, token, "components")
        per_tile(side, tiles)                      # a visitor: the cache holds the tiles
        spot = inside_a_grid(city)
        for i in range(repeat):
            started = time.perf_counter()
            import_one(city, spot, i)
            ended = time.perf_counter()
            while not prerendered(server, headers, city.layout.district, i):
                if time.perf_counter() - ended > PRERENDER_TIMEOUT_S:
                    raise MeasurementFailed(f"the tiles were not rendered again within "
                                            f"{PRERENDER_TIMEOUT_S:.0f} s of the import")
                time.sleep(0.1)
            ready.append(time.perf_counter() - ended)
            before = cache_counts(server, headers)
            first.append(float(np.median(per_tile(side, tiles))))
            missed += cache_counts(server, headers)[1] - before[1]
            cached.append(float(np.median(per_tile(side, tiles))))
            log(f"  tiles after import {i + 1}/{repeat}: import "
                f"{seconds(ended - started)}, rendered again {seconds(ready[-1])} later; first "
                f"visit {seconds(first[-1])}, next {seconds(cached[-1])}")
    return AfterImport(statistics.median(first), statistics.median(cached),
                       statistics.median(ready), missed)


PRERENDER_TIMEOUT_S = 600.0


def inside_a_grid(city: City) -> tuple[float, float]:
    engine = make_engine(city.url)
    try:
        with engine.connect() as conn:
            x, y = conn.execute(sa.text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM grid "
                "WHERE valid_to IS NULL ORDER BY code LIMIT 1 OFFSET 50) g")).one()
    finally:
        engine.dispose()
    return float(x), float(y)


def import_one(city: City, spot: tuple[float, float], i: int) -> None:
    """`citygrid import components` of one new 上水井盖 (class 0101), in its own process."""
    import geopandas as gpd
    import shapely

    folder = Path(tempfile.mkdtemp(prefix="citygrid-bench-tiles-"))
    path = folder / "新增井盖.geojson"
    gpd.GeoDataFrame({"标识码": [f"{city.layout.district}0101{999990 + i:06d}"]}, crs=4490,
                     geometry=[shapely.Point(spot[0] + i * 1e-5, spot[1])]).to_file(path)
    cmd = [sys.executable, "-m", "api", "import", "components", str(path),
           "--district", city.layout.district]
    done = subprocess.run(cmd, cwd=ROOT, env={**os.environ, "DATABASE_URL": city.url},
                          capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
        raise MeasurementFailed(f"the import exited {done.returncode}: {' '.join(tail)}")


def detail(server: Server, headers: dict[str, str]) -> dict[str, Any]:
    status, body = server.get("/health/detail", headers)
    if status != 200:
        raise MeasurementFailed(f"/health/detail answered HTTP {status}: {body[:200]!r}")
    return json.loads(body)["tiles"]  # type: ignore[no-any-return]


def prerendered(server: Server, headers: dict[str, str], district: str, runs: int) -> bool:
    """Whether the server has rendered the district's tiles again, `runs + 1` times in all."""
    tiles = detail(server, headers)["prerender"]
    last = tiles["last"]
    return bool(tiles["idle"] and last and last["district"] == district
                and tiles["runs"] > runs)


def cache_counts(server: Server, headers: dict[str, str]) -> tuple[int, int]:
    cache = detail(server, headers)["cache"]
    return int(cache["hits"]), int(cache["misses"])


# what citygrid_tile_*() run with (migration 0008), for the anchor's session
ANCHOR_SETTINGS = "SET jit = off; SET max_parallel_workers_per_gather = 0"


def covering_tiles(city: City) -> list[Tile]:
    """Every z15 tile (XYZ, as the map asks for them) that meets the grids' extent."""
    engine = make_engine(city.url)
    try:
        with engine.connect() as conn:
            minx, miny, maxx, maxy = conn.execute(sa.text(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT "
                "ST_Extent(geom) AS e FROM grid WHERE valid_to IS NULL) x")).one()
    finally:
        engine.dispose()
    x0, y0 = tile_of(minx, maxy)
    x1, y1 = tile_of(maxx, miny)
    return [(ZOOM, x, y) for y in range(y0, y1 + 1) for x in range(x0, x1 + 1)]


def tile_of(lon: float, lat: float) -> tuple[int, int]:
    n = 2 ** ZOOM
    phi = math.radians(lat)
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.log(math.tan(phi) + 1 / math.cos(phi)) / math.pi) / 2 * n)
    return x, y


class HttpSide:
    """GET a layer's tiles with the token, on one keep-alive connection."""

    def __init__(self, server: Server, token: str, layer: str) -> None:
        self.server, self.layer = server, layer
        self.headers = {"Authorization": f"Bearer {token}"}
        self.conn = server.connection()

    def before_pass(self) -> None:
        """A fresh connection, untimed: uvicorn closes one idle for 5 s."""
        self.conn.close()
        self.conn.connect()

    def __call__(self, tile: Tile) -> bytes:
        z, x, y = tile
        path = f"/tiles/{self.layer}/{z}/{x}/{y}.pbf"
        try:
            self.conn.request("GET", path, headers=self.headers)
            response = self.conn.getresponse()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            self.before_pass()
            self.conn.request("GET", path, headers=self.headers)
            response = self.conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise MeasurementFailed(f"GET {path}: HTTP {response.status} {body[:200]!r}")
        return body


def sql_side(conn: sa.Connection, sql: sa.TextClause,
             codes: list[str]) -> Callable[[Tile], bytes]:
    def run(tile: Tile) -> bytes:
        z, x, y = tile
        data = conn.execute(sql, {"z": z, "x": x, "y": y, "codes": codes}).scalar()
        conn.rollback()
        return bytes(data or b"")
    return run


def rls_side(conn: sa.Connection, sql: sa.TextClause, district: str) -> Callable[[Tile], bytes]:
    """The statement as the server's session runs it: application role, districts set."""
    confine = sa.text("SELECT set_config(:name, :codes, true)")

    def run(tile: Tile) -> bytes:
        z, x, y = tile
        conn.execute(confine, {"name": DISTRICTS_SETTING, "codes": district})
        data = conn.execute(sql, {"z": z, "x": x, "y": y}).scalar()
        conn.rollback()
        return bytes(data or b"")
    return run


def per_tile(side: Callable[[Tile], bytes], tiles: list[Tile]) -> np.ndarray:
    out = np.empty(len(tiles))
    before = getattr(side, "before_pass", None)
    if before is not None:
        before()
    gc.collect()
    for i, tile in enumerate(tiles):
        start = time.perf_counter()
        side(tile)
        out[i] = time.perf_counter() - start
    return out


def check(sides: dict[str, Callable[[Tile], bytes]], sample: list[Tile]) -> str:
    """Ours, the plain SQL and the tile function give tiles of the same features (by code).

    Not the same bytes: the plain statement may run as a parallel plan, which orders the rows,
    and so the features, differently. Checked on a sample of tiles spread over the area."""
    features = 0
    for layer in LAYERS:
        for tile in sample:
            got = {side: sorted(mvt_codes(sides[f"{layer} {side}"](tile), layer))
                   for side in ("ours", "anchor", "rls")}
            if not got["anchor"]:
                raise MeasurementFailed(f"{layer} tile {tile} is empty: not the census area")
            if got["ours"] != got["anchor"] or got["rls"] != got["anchor"]:
                raise MeasurementFailed(
                    f"{layer} tile {tile}: {len(got['ours']):,} features from ours, "
                    f"{len(got['rls']):,} from the tile function, {len(got['anchor']):,} from "
                    "the plain SQL, or not the same ones")
            features += len(got["anchor"])
    return (f"the same features (codes) from ours, the plain SQL and the tile function in "
            f"{len(sample)} tiles of each layer ({features:,} features in all)")


CHECKED = 24


def mvt_codes(data: bytes, layer: str) -> list[str]:
    """The `code` property of every feature of a layer of a Mapbox vector tile (protobuf,
    decoded by hand: Tile.layers = 3; Layer.name = 1, features = 2, keys = 3, values = 4;
    Feature.tags = 2, packed; Value.string_value = 1)."""
    codes: list[str] = []
    for field, body in _fields(memoryview(data)):
        if field != 3:
            continue
        name, keys, values, feats = "", [], [], []
        for f, v in _fields(body):
            if f == 1:
                name = bytes(v).decode()
            elif f == 2:
                feats.append(v)
            elif f == 3:
                keys.append(bytes(v).decode())
            elif f == 4:
                values.append(next((bytes(x).decode() for g, x in _fields(v) if g == 1), None))
        if name != layer:
            continue
        # a tile combined from a parallel plan's partial tiles may repeat a key
        code_keys = {i for i, k in enumerate(keys) if k == "code"}
        for feat in feats:
            tags = next((_packed(v) for f, v in _fields(feat) if f == 2), [])
            for k, v in zip(tags[::2], tags[1::2], strict=True):
                if k in code_keys:
                    codes.append(str(values[v]))
    return codes


def _varint(buf: memoryview, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def _fields(buf: memoryview) -> Iterator[tuple[int, Any]]:
    """(field number, value) of a protobuf message: ints for varints, memoryviews for
    length-delimited fields (and the raw bytes of fixed-width ones)."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        wire = key & 7
        if wire == 0:
            value, i = _varint(buf, i)
            yield key >> 3, value
        elif wire == 2:
            size, i = _varint(buf, i)
            yield key >> 3, buf[i:i + size]
            i += size
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            yield key >> 3, buf[i:i + width]
            i += width
        else:
            raise MeasurementFailed(f"not a vector tile: protobuf wire type {wire}")


def _packed(buf: memoryview) -> list[int]:
    out, i = [], 0
    while i < len(buf):
        value, i = _varint(buf, i)
        out.append(value)
    return out


def explain(run: Run, plain: sa.Connection, tile: Tile, district: str) -> None:
    """--profile: the database's own profile of the central components tile, EXPLAIN (ANALYZE,
    BUFFERS) of the plain statement as the owner, with the anchor's settings."""
    assert run.profile is not None
    run.profile.mkdir(parents=True, exist_ok=True)
    out = run.profile / f"{run.name}.explain.txt"
    sql = sa.text("EXPLAIN (ANALYZE, BUFFERS) " + plain_statement("components"))
    z, x, y = tile
    lines = [f"components tile {tile}",
             *plain.execute(sql, {"z": z, "x": x, "y": y, "codes": [district]}).scalars()]
    plain.rollback()
    out.write_text("\n".join(lines) + "\n", "utf-8")
    log(f"  {run.name}: EXPLAIN ANALYZE of tile {tile} in {out}:")
    for line in lines:
        log(f"    {line}")


def feature_counts(conn: sa.Connection, tiles: list[Tile]) -> list[int]:
    sql = sa.text("SELECT count(*) FROM component c WHERE c.retired_at IS NULL AND c.geom && "
                  "ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => 0.015625), 4490)")
    counts = [int(conn.execute(sql, {"z": z, "x": x, "y": y}).scalar_one())
              for z, x, y in tiles]
    conn.rollback()
    return counts


BENCHMARK = Benchmark(
    name="tiles",
    ours="GET /tiles/components/15/{x}/{y}.pbf with a token, per tile (HTTP, keep-alive)",
    anchor="api/sql/tile_components.sql (ST_AsMVT) run directly in PostGIS, same tiles",
    measure=measure,
    default_repeat=3,
)
