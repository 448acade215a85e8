"""Vector tiles built by PostGIS (`ST_AsMVT`): `/tiles/{layer}/{z}/{x}/{y}.pbf`, so that a
million-component census pans smoothly.

Each layer is a database function, `citygrid_tile_<layer>(z, x, y)`, made from the statement of
`api/sql/tile_<layer>.sql` (`install_functions`, run by every migration to head): it confines the
rows to the caller's districts explicitly and runs as its owner, so that the spatial index
serves it (row-level security would keep PostGIS's `&&` from using the index), without JIT or
parallel workers (which cost more than a tile). The layer `all` is every layer's tile in one
(tiles of different MVT layer names concatenate into a valid tile), for clients that take one
tile URL (TileJSON, QGIS). A tile is kept with its ETag and its gzip encoding (`Tile`), so that
the server's cache answers with neither hashing nor compressing."""

from __future__ import annotations

import gzip
import hashlib
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from api.auth import Principal
from gis.errors import BadInput, NotFound
from gis.sql import sql_text
from gis.tenancy import APP_ROLE

MVT = "application/vnd.mapbox-vector-tile"
ALL = "all"
MAXZOOM = 22            # tiles are rendered up to here
DETAIL_ZOOM = 18        # beyond it a tile adds no detail: the zoom TileJSON names, clients overzoom
GRID_DETAIL_ZOOM = 12   # grids carry their codes and areas from here (api/sql/tile_grids.sql)


@dataclass(frozen=True)
class VectorLayer:
    """A layer inside the tiles (`ST_AsMVT`'s name), with its attributes, as TileJSON lists it."""

    id: str
    description: str
    fields: dict[str, str]


@dataclass(frozen=True)
class TileLayer:
    name: str
    sql: sa.TextClause
    minzoom: int        # below it the layer's tiles are empty (too many features to be useful)
    contents: tuple[VectorLayer, ...]


def _layer(name: str, minzoom: int, *contents: VectorLayer) -> TileLayer:
    return TileLayer(name, sa.text(f"SELECT citygrid_tile_{name}(:z, :x, :y)"), minzoom, contents)


def plain_statement(name: str) -> str:
    """The layer's statement, with bound parameters :z, :x, :y and :codes (the districts), as
    `api/sql/tile_<name>.sql` has it: the benchmark's anchor, run bare."""
    return sql_text("api", f"tile_{name}")


_DETAIL = f"（{GRID_DETAIL_ZOOM} 级起）from zoom {GRID_DETAIL_ZOOM}"
LAYERS = {layer.name: layer for layer in (
    # a county (about 10,000 grids) fits a screen at zoom 10–11: its grids from zoom 9, simplified
    _layer("grids", 9, VectorLayer("grids", "单元网格 unit grids", {
        "code": f"单元网格代码 grid code {_DETAIL}", "district": "区划代码 district code",
        "street": "街道代码 street code", "community": "社区代码 community code",
        "area_m2": f"面积（平方米）area in m² {_DETAIL}"})),
    _layer("outlines", 6,
           VectorLayer("streets", "街道（乡镇）边界 street outlines", {
               "code": "街道代码 street code", "name": "街道名称 street name"}),
           VectorLayer("communities", "社区（村）边界 community outlines", {
               "code": "社区代码 community code", "name": "社区名称 community name"})),
    _layer("components", 14, VectorLayer("components", "城市部件 census components", {
        "code": "部件标识码 component id", "class": "部件小类代码 class code",
        "major": "部件大类代码 major class code"})))}
_PARAMETER = re.compile(r"(?<!:):(z|x|y|codes)\b")


def install_functions(connection: Any) -> None:
    """(Re)make each layer's function from its file: the statement's parameters become the
    function's arguments and `codes` the caller's districts, read once per tile. plpgsql, so
    that the plan is prepared once per connection, not for every tile."""
    for layer in LAYERS:
        body = _PARAMETER.sub(lambda m: m.group(1), plain_statement(layer))
        connection.execute(sa.text(f"""
            CREATE OR REPLACE FUNCTION citygrid_tile_{layer}(z integer, x integer, y integer)
            RETURNS bytea LANGUAGE plpgsql STABLE SECURITY DEFINER
            SET search_path = public SET jit = off SET max_parallel_workers_per_gather = 0
            AS $fn$ DECLARE codes text[] := citygrid_districts();
            BEGIN RETURN ({body}); END $fn$"""))
        signature = f"citygrid_tile_{layer}(integer, integer, integer)"
        connection.execute(sa.text(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC"))
        connection.execute(sa.text(f"GRANT EXECUTE ON FUNCTION {signature} TO {APP_ROLE}"))


def check_tile(layer: str, z: int, x: int, y: int) -> None:
    if layer != ALL and layer not in LAYERS:
        names = ", ".join([*LAYERS, ALL])
        raise NotFound(f"没有瓦片图层 {layer!r}（图层有 {names}） "
                       f"(no tile layer {layer!r}; layers: {names})")
    if not 0 <= z <= MAXZOOM:
        raise BadInput(f"z：{z} 不在 0..{MAXZOOM} 范围内 (z: {z} is outside 0..{MAXZOOM})")
    if not (0 <= x < 2**z and 0 <= y < 2**z):
        raise BadInput(f"x/y：({x}, {y}) 不是缩放级别 {z} 的瓦片 "
                       f"(x/y: ({x}, {y}) is not a tile of zoom {z})")


def render_tile(db: object, layer: str, z: int, x: int, y: int) -> bytes:
    """One layer's tile (not `all`), from the database; empty below the layer's zoom."""
    check_tile(layer, z, x, y)
    spec = LAYERS[layer]
    if z < spec.minzoom:
        return b""
    data = db.execute(spec.sql, {"z": z, "x": x, "y": y}).scalar()  # type: ignore[attr-defined]
    return bytes(data or b"")


GZIP_MIN_BYTES = 256    # below it gzip's own 20 bytes and the client's work are not worth it


@dataclass
class Tile:
    """A rendered tile as it is sent: its bytes, a strong ETag of them, and the same bytes
    gzip-compressed, made the first time a client takes gzip (at once for a tile the cache
    keeps) and kept."""

    data: bytes
    etag: str
    _gzipped: bytes | None = field(default=None, repr=False)

    @classmethod
    def of(cls, data: bytes) -> Tile:
        return cls(data, hashlib.blake2b(data, digest_size=16).hexdigest())

    def body(self, gzip_ok: bool) -> tuple[bytes, bool]:
        """The bytes to send, and whether they are gzip-compressed."""
        if not gzip_ok or len(self.data) < GZIP_MIN_BYTES:
            return self.data, False
        if self._gzipped is None:
            # mtime=0: the same tile compresses to the same bytes
            self._gzipped = gzip.compress(self.data, compresslevel=6, mtime=0)
        return self._gzipped, True

    def validator(self, gzipped: bool) -> str:
        """The ETag of what is sent: the identity and the gzip encoding are two representations,
        so their strong validators differ (as Apache's mod_deflate marks its own)."""
        return f'"{self.etag}-gz"' if gzipped else f'"{self.etag}"'

    @property
    def size(self) -> int:
        return len(self.data) + len(self._gzipped or b"")


Key = tuple[str, int, int, int, str]     # layer, z, x, y, the districts its caller sees


class TileCache:
    """Rendered tiles in memory, least recently used dropped first beyond `max_bytes`.

    A tile is kept per layer, z/x/y and the districts its caller may see, for `max_age_s` at
    most, compressed and with its ETag. When a district's data changes (the lookup index's
    listener hears every import and calls `changed`), the tiles that show it are dropped at
    once, and a tile whose rendering began before the change is not kept (the generation check
    of `put`).
    """

    EVERYWHERE = "*"

    def __init__(self, max_bytes: int, max_age_s: float) -> None:
        self.max_bytes, self.max_age_s = max_bytes, max_age_s
        self._tiles: OrderedDict[Key, tuple[float, Tile]] = OrderedDict()
        self._bytes = 0
        self._holders: dict[int, int] = {}      # id(tile) → how many keys hold it
        self._lock = threading.Lock()
        self.generation = 0
        self.hits = self.misses = 0
        self._served: dict[str, float] = {}     # scope → when a client last asked for a tile

    def get(self, key: Key) -> Tile | None:
        if not self.max_bytes:
            return None
        now = time.monotonic()
        with self._lock:
            self._served[key[4]] = now
            found = self._tiles.get(key)
            if found is None or now - found[0] > self.max_age_s:
                self.misses += 1
                return None
            self._tiles.move_to_end(key)
            self.hits += 1
            return found[1]

    @property
    def count(self) -> int:
        return len(self._tiles)

    @property
    def bytes(self) -> int:
        return self._bytes

    def peek(self, key: Key) -> Tile | None:
        """The tile when kept and fresh, without counting a hit or a miss or touching its
        place in the order (the pre-renderer asks what is there)."""
        with self._lock:
            found = self._tiles.get(key)
        if found is None or time.monotonic() - found[0] > self.max_age_s:
            return None
        return found[1]

    def scopes_showing(self, district: str) -> list[str]:
        """The scopes (callers' sets of districts) that include the district and that clients
        asked tiles of within the cache's age."""
        now = time.monotonic()
        with self._lock:
            return [s for s, at in self._served.items() if now - at <= self.max_age_s
                    and (s == self.EVERYWHERE or district in s.split(","))]

    def put(self, key: Key, tile: Tile, generation: int) -> None:
        if not self.max_bytes:
            return
        tile.body(gzip_ok=True)            # compressed once, before it is shared
        if tile.size > self.max_bytes // 16:
            return
        with self._lock:
            if generation != self.generation:      # rendered from data that changed since
                return
            old = self._tiles.pop(key, None)
            if old is not None:
                self._let_go(old[1])
            self._tiles[key] = (time.monotonic(), tile)
            self._hold(tile)
            while self._bytes > self.max_bytes:
                _, (_, dropped) = self._tiles.popitem(last=False)
                self._let_go(dropped)

    # A tile kept under several keys (the pre-renderer's one rendering for several callers'
    # scopes) is in memory once, and counted once.
    def _hold(self, tile: Tile) -> None:
        n = self._holders.get(id(tile), 0)
        if not n:
            self._bytes += tile.size
        self._holders[id(tile)] = n + 1

    def _let_go(self, tile: Tile) -> None:
        n = self._holders.pop(id(tile)) - 1
        if n:
            self._holders[id(tile)] = n
        else:
            self._bytes -= tile.size

    def changed(self, district: str) -> None:
        """Drop the tiles that may show this district (those of every caller who sees it)."""
        with self._lock:
            self.generation += 1
            for key in [k for k in self._tiles
                        if k[4] == self.EVERYWHERE or district in k[4].split(",")]:
                self._let_go(self._tiles.pop(key)[1])


def scope(who: Principal) -> str:
    return TileCache.EVERYWHERE if who.everywhere else ",".join(sorted(who.districts))


def cached_tile(db: object, cache: TileCache, key: Key) -> Tile:
    """The tile of `key` from the cache, else rendered (`all`: each layer's tile, from the cache
    or rendered, one after the other) and kept."""
    layer, z, x, y, districts = key
    found = cache.get(key)
    if found is not None:
        return found
    generation = cache.generation
    if layer == ALL:
        check_tile(layer, z, x, y)
        data = b"".join(cached_tile(db, cache, (name, z, x, y, districts)).data
                        for name in LAYERS)
    else:
        data = render_tile(db, layer, z, x, y)
    tile = Tile.of(data)
    cache.put(key, tile, generation)
    return tile
