"""Getting a resolver: the one way every caller wires the index, its settings and its listener.

- `open_resolver(engine, settings, near=…)`: a resolver loaded now, for a command that answers
  and exits (only the districts near a point are loaded when one is given).
- `LookupService`: a server's resolver, loaded in the background at start and kept current by
  the listener (imports committed anywhere reach it through NOTIFY); `get` waits for the first
  load, `ready` never waits (for the event loop).
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from gis.errors import DatabaseUnavailable
from gis.replicas import ReadRouter
from grid.store import districts_near
from lookup.index import LookupIndex
from lookup.resolve import Resolver
from lookup.settings import LookupSettings

log = logging.getLogger("citygrid.lookup")
INDEX_WAIT_S = 60.0


def open_resolver(engine: Engine, settings: LookupSettings,
                  near: tuple[float, float] | None = None) -> Resolver:
    """A resolver over a freshly loaded index: every district, or those with a grid near a
    point (lon, lat in EPSG:4490)."""
    only = None
    if near is not None:
        with Session(engine) as session:
            only = districts_near(session, *near)
    return Resolver(LookupIndex(engine).load(only=only), settings.lookup_options())


class LookupService:
    """A server's index and resolver, loaded in the background and kept up to date."""

    def __init__(self, engine: Callable[[], Engine], settings: LookupSettings,
                 listen_url: Callable[[], str],
                 on_change: list[Callable[[str], None]] | None = None,
                 on_reload: list[Callable[[str], None]] | None = None,
                 reads: Callable[[], ReadRouter | None] | None = None) -> None:
        self.engine = engine               # called when the index is first needed
        self.reads = reads                 # the standbys to load from, if any
        self.only = settings.served_districts   # CITYGRID_DISTRICTS
        self.listen_url = listen_url
        self.on_change = on_change or []   # handed to the index: a district's data changed
        self.on_reload = on_reload or []   # … and the district has been loaded again
        self.options = settings.lookup_options()
        self.index: LookupIndex | None = None
        self.resolver: Resolver | None = None
        self._lock = threading.Lock()
        self._stopped = False

    def start(self) -> None:
        threading.Thread(target=self._start, daemon=True, name="citygrid-index-start").start()

    def _start(self) -> None:
        try:
            self._ensure()
        except Exception:
            log.exception("lookup index: not started")

    def _ensure(self) -> Resolver:
        with self._lock:
            if self.resolver is None:
                index = LookupIndex(self.engine(), only=self.only, reads=self.reads)
                index.on_change.extend(self.on_change)
                index.on_reload.extend(self.on_reload)
                if not self._stopped:
                    # not after shutdown: a listener nobody stops would outlive the app
                    index.listen(self.listen_url())
                self.index, self.resolver = index, Resolver(index, self.options)
            return self.resolver

    def get(self) -> Resolver:
        """The resolver, once the index is loaded (waits for it, up to INDEX_WAIT_S)."""
        resolver = self._ensure()
        assert self.index is not None
        if not self.index.ready.wait(INDEX_WAIT_S):
            raise DatabaseUnavailable("位置查询索引仍在加载，请稍后再试 "
                                      "(the lookup index is still loading; try again shortly)")
        return resolver

    def ready(self) -> Resolver | None:
        """The resolver when the index is loaded, without waiting (for the event loop)."""
        resolver, index = self.resolver, self.index
        if resolver is None or index is None or not index.ready.is_set():
            return None
        return resolver

    def stop(self) -> None:
        with self._lock:      # after a start still under way, so its listener is stopped too
            self._stopped = True
            if self.index is not None:
                self.index.stop()
        # A reload freezes what is alive (lookup.index: out of the collector's walk), this
        # server's app and engine among it: handed back to the collector when the server stops,
        # or a process that serves again (the tests, an embedding application) would keep every
        # stopped app's connections open for ever.
        gc.unfreeze()
