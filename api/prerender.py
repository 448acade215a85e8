"""After an import, the changed district's tiles are rendered again in the background, so that the
first visitor after it is served from the cache, as every later one is.

An import drops the tiles that show its district (`TileCache.changed`); once the lookup index has
reloaded the district (the import has committed and the listener heard it), a worker thread
renders the district's tiles of the pre-render zooms (14–16 by default: the zooms at which the
census is drawn and a county is worked street by street), every layer, for the scopes that will
ask for them: the district's own tokens, a city administrator's (every district), and every other
scope that has lately been served tiles of the district. A tile that shows this district alone
(its box, with the margin tiles are rendered with, touches no other district's extent) is the same
for all of them and is rendered once; a tile on a county's border is rendered per scope.

The work is bounded: half the cache at most (what is rendered first is what stays), and a newer
change of the district stops the run under way and starts it again. One district at a time, one
tile at a time, on one connection: the database renders, the thread waits, lookups go on.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Connection, Engine

from api.tiles import LAYERS, Key, Tile, TileCache, render_tile
from gis.sql import statement
from gis.tenancy import confine

log = logging.getLogger("citygrid.tiles")

Box = tuple[float, float, float, float]      # minx, miny, maxx, maxy in EPSG:4490
SETTLE_S = 0.5                               # a burst of changes is rendered once
MARGIN = 0.125                               # of a tile: more than the rendering's own margin


def tiles_over(box: Box, z: int) -> Iterator[tuple[int, int]]:
    """The (x, y) of every web-mercator tile of zoom z that the box touches."""
    n = 2**z

    def column(lon: float) -> int:
        return min(n - 1, max(0, int((lon + 180.0) / 360.0 * n)))

    def row(lat: float) -> int:
        lat = max(-85.05112878, min(85.05112878, lat))
        y = (1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n
        return min(n - 1, max(0, int(y)))

    for x in range(column(box[0]), column(box[2]) + 1):
        for y in range(row(box[3]), row(box[1]) + 1):
            yield x, y


def tile_box(z: int, x: int, y: int, margin: float = 0.0) -> Box:
    """The tile's box in longitude and latitude, widened by `margin` of its size each way."""
    n = 2**z

    def lat(row: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1.0 - 2.0 * row / n))))

    return ((x - margin) / n * 360.0 - 180.0, lat(y + 1 + margin),
            (x + 1 + margin) / n * 360.0 - 180.0, lat(y - margin))


def overlaps(a: Box, b: Box) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


@dataclass
class Status:
    """What the pre-renderer is doing and last did (`GET /health/detail`)."""

    queued: list[str] = field(default_factory=list)
    running: str | None = None
    last: dict[str, Any] | None = None
    runs: int = 0                             # runs ended since the server started


class Prerenderer:
    """The background worker (see the module's docstring). `changed` and `reloaded` are the
    lookup index's callbacks; `start` and `stop` follow the server's life."""

    def __init__(self, cache: TileCache, owner: Callable[[], Engine],
                 app: Callable[[list[str]], Engine], zooms: tuple[int, ...]) -> None:
        self.cache, self.owner, self.app, self.zooms = cache, owner, app, zooms
        self._changed: set[str] = set()       # heard changing, not yet reloaded
        self._queue: list[str] = []           # reloaded, waiting to be rendered
        self._cond = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None
        self.status = Status()
        self.on_done: list[Callable[[str], None]] = []   # a district's run has ended

    @property
    def enabled(self) -> bool:
        return bool(self.zooms) and self.cache.max_bytes > 0

    def changed(self, district: str) -> None:
        with self._cond:
            self._changed.add(district)
            self._cond.notify_all()           # a run of this district under way stops

    def reloaded(self, district: str) -> None:
        if not self.enabled:
            return
        with self._cond:
            if district not in self._changed:     # the first load: nothing to render again
                return
            self._changed.discard(district)
            if district not in self._queue:
                self._queue.append(district)
            self.status.queued = list(self._queue)
            self._cond.notify_all()

    def start(self) -> None:
        if self.enabled and self._thread is None:
            self._thread = threading.Thread(target=self._work, daemon=True,
                                            name="citygrid-tile-prerender")
            self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=30.0)   # its tile finishes: its connection is returned

    def idle(self) -> bool:
        with self._cond:
            return not self._queue and self.status.running is None and not self._changed

    # -- the worker ----------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._stop and not self._queue:
                    self._cond.wait()
                if self._stop:
                    return
                self._cond.wait(SETTLE_S)
                if self._stop:
                    return
                district = self._queue.pop(0)
                self.status.queued, self.status.running = list(self._queue), district
            started, done = time.monotonic(), None
            try:
                done = self._render_district(district)
            except Exception:
                log.exception("tile pre-render: district %s failed", district)
            finally:
                with self._cond:
                    self.status.running = None
                    self.status.runs += 1
                    self.status.last = {
                        "district": district, "tiles": done[0] if done else 0,
                        "bytes": done[1] if done else 0, "complete": bool(done and done[2]),
                        "seconds": round(time.monotonic() - started, 3),
                        "finished": datetime.now(UTC).isoformat(timespec="seconds")}
                for callback in self.on_done:
                    callback(district)

    def _interrupted(self, district: str) -> bool:
        with self._cond:
            return self._stop or district in self._changed

    def _render_district(self, district: str) -> tuple[int, int, bool]:
        """(tiles rendered, their bytes, whether the run went to its end)."""
        with self.owner().connect() as conn:
            extents = {r[0]: (float(r[1]), float(r[2]), float(r[3]), float(r[4]))
                       for r in conn.execute(statement("api", "district_extents"))}
        box = extents.pop(district, None)
        if box is None:
            return 0, 0, True
        everyone = sorted([district, *extents])
        scopes = self._scopes(district)
        budget, rendered, spent = self.cache.max_bytes // 2, 0, 0
        with self.app(everyone).connect() as conn:
            for z in self.zooms:
                for x, y in tiles_over(box, z):
                    if self._interrupted(district):
                        return rendered, spent, False
                    around = tile_box(z, x, y, MARGIN)
                    alone = not any(overlaps(around, other) for other in extents.values())
                    groups = [scopes] if alone else [[s] for s in scopes]
                    for group in groups:
                        shown = [district] if alone else (
                            everyone if group[0] == TileCache.EVERYWHERE
                            else group[0].split(","))
                        n, size = self._render(conn, shown, group, z, x, y)
                        rendered, spent = rendered + n, spent + size
                    if spent > budget:
                        log.info("tile pre-render: %s stopped at zoom %d, half the cache "
                                 "used", district, z)
                        return rendered, spent, False
        log.info("tile pre-render: %s, %d tiles, %.1f MB", district, rendered, spent / 2**20)
        return rendered, spent, True

    def _scopes(self, district: str) -> list[str]:
        """The district's own, every district's, and those lately served the district."""
        seen = self.cache.scopes_showing(district)
        return sorted({district, TileCache.EVERYWHERE, *seen})

    def _render(self, conn: Connection, shown: list[str], scopes: list[str],
                z: int, x: int, y: int) -> tuple[int, int]:
        """Each layer's tile for these scopes, rendered once as `shown` sees it, unless every
        scope has it already (the map asks for each layer; `all`, for other clients, is made
        from them when asked). (tiles rendered, their bytes)"""
        rendered = size = 0
        generation = self.cache.generation     # what is rendered from here on is of it
        for layer in LAYERS:
            keys: list[Key] = [(layer, z, x, y, s) for s in scopes]
            if all(self.cache.peek(k) for k in keys):
                continue
            with conn.begin():
                confine(conn, shown)
                tile = Tile.of(render_tile(conn, layer, z, x, y))
            for key in keys:
                self.cache.put(key, tile, generation)
            rendered, size = rendered + 1, size + tile.size
        return rendered, size
