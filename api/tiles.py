"""Vector tiles built by PostGIS (`ST_AsMVT`): `/tiles/{layer}/{z}/{x}/{y}.pbf`, so that a
million-component census pans smoothly.

Each layer is a database function, `citygrid_tile_<layer>(z, x, y)`, made from the statement of
`api/sql/tile_<layer>.sql` (`install_functions`, run by every migration to head): it confines the
rows to the caller's districts explicitly and runs as its owner, so that the spatial index
serves it (row-level security would keep PostGIS's `&&` from using the index), without JIT or
parallel workers (which cost more than a tile)."""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from api.auth import Principal
from gis.errors import BadInput, NotFound
from gis.sql import sql_text
from gis.tenancy import APP_ROLE

MVT = "application/vnd.mapbox-vector-tile"


@dataclass(frozen=True)
class TileLayer:
    name: str
    sql: sa.TextClause
    minzoom: int        # below it the layer's tiles are empty (too many features to be useful)
    maxzoom: int = 22


def _layer(name: str, minzoom: int) -> TileLayer:
    return TileLayer(name, sa.text(f"SELECT citygrid_tile_{name}(:z, :x, :y)"), minzoom)


def plain_statement(name: str) -> str:
    """The layer's statement, with bound parameters :z, :x, :y and :codes (the districts), as
    `api/sql/tile_<name>.sql` has it: the benchmark's anchor, run bare."""
    return sql_text("api", f"tile_{name}")


LAYERS = {layer.name: layer for layer in (
    _layer("grids", 11), _layer("outlines", 8), _layer("components", 14))}
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


def render_tile(db: object, layer: str, z: int, x: int, y: int) -> bytes:
    spec = LAYERS.get(layer)
    if spec is None:
        raise NotFound(f"no tile layer {layer!r} (layers: {', '.join(LAYERS)})")
    if not 0 <= z <= spec.maxzoom:
        raise BadInput(f"z: {z} is outside 0..{spec.maxzoom}")
    if not (0 <= x < 2**z and 0 <= y < 2**z):
        raise BadInput(f"x/y: ({x}, {y}) is not a tile of zoom {z}")
    if z < spec.minzoom:
        return b""
    data = db.execute(spec.sql, {"z": z, "x": x, "y": y}).scalar()  # type: ignore[attr-defined]
    return bytes(data or b"")


class TileCache:
    """Rendered tiles in memory, least recently used dropped first beyond `max_bytes`.

    A tile is kept per layer, z/x/y and the districts its caller may see, for `max_age_s` at
    most. When a district's data changes (the lookup index's listener hears every import and
    calls `changed`), the tiles that show it are dropped at once, and a tile whose rendering
    began before the change is not kept (the generation check of `put`).
    """

    EVERYWHERE = "*"

    def __init__(self, max_bytes: int, max_age_s: float) -> None:
        self.max_bytes, self.max_age_s = max_bytes, max_age_s
        self._tiles: OrderedDict[tuple[str, int, int, int, str], tuple[float, bytes]] = \
            OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.generation = 0
        self.hits = self.misses = 0

    def get(self, key: tuple[str, int, int, int, str]) -> bytes | None:
        if not self.max_bytes:
            return None
        with self._lock:
            found = self._tiles.get(key)
            if found is None or time.monotonic() - found[0] > self.max_age_s:
                self.misses += 1
                return None
            self._tiles.move_to_end(key)
            self.hits += 1
            return found[1]

    def put(self, key: tuple[str, int, int, int, str], data: bytes, generation: int) -> None:
        if not self.max_bytes or len(data) > self.max_bytes // 16:
            return
        with self._lock:
            if generation != self.generation:      # rendered from data that changed since
                return
            old = self._tiles.pop(key, None)
            if old is not None:
                self._bytes -= len(old[1])
            self._tiles[key] = (time.monotonic(), data)
            self._bytes += len(data)
            while self._bytes > self.max_bytes:
                _, (_, dropped) = self._tiles.popitem(last=False)
                self._bytes -= len(dropped)

    def changed(self, district: str) -> None:
        """Drop the tiles that may show this district (those of every caller who sees it)."""
        with self._lock:
            self.generation += 1
            for key in [k for k in self._tiles
                        if k[4] == self.EVERYWHERE or district in k[4].split(",")]:
                self._bytes -= len(self._tiles.pop(key)[1])


def scope(who: Principal) -> str:
    return TileCache.EVERYWHERE if who.everywhere else ",".join(sorted(who.districts))
