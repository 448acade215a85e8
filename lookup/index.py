"""The in-memory lookup index: every district's current grids, census components (by class) and
responsibility rules, in shapely STRtrees and columns, so that a lookup never waits on the
database.

PostGIS stays the source of truth. The index is loaded once and a district is reloaded when an
import or a rules change commits (imports send a PostgreSQL NOTIFY on `gis.db.CHANGES`; a
listener thread reloads and swaps the district in one assignment, so readers never see a half
loaded district). Immutable STRtrees are rebuilt rather than updated: rebuilding a district's
trees takes about a second for a million components, far less than the import that caused it.

Lookups run on the server's event loop while the listener thread loads, so the load must not
hold the GIL for long at a time (bench/lookup_reload.py measures it): the garbage collector is
paused meanwhile (`_collector_paused`), long vectorised calls go a chunk of rows at a time
(`lookup.components.chunked`), the rows arrive as one value rather than a Python iteration per
row (and a class of points makes no Python object per point: `lookup.components`), and the
replaced district is freed a piece at a time (`_release`).

Inside a district, distances and tolerances are measured in its local metric frame
(`gis.crs.LocalFrame`): containment is exactly what PostGIS computes in EPSG:4490, and over a
county its distances agree with the district's Gauss-Krüger CRS to within about 0.1 %.
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
import sqlalchemy as sa
from shapely import STRtree
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from census import catalog
from census.tables import organisation
from gis import collector
from gis.crs import LocalFrame
from gis.db import ALIVE, CHANGES
from gis.replicas import ReadRouter, parse_lsn
from grid import store as grid_store
from grid.codes import Scheme
from grid.districts import District, list_districts
from lookup.components import CHUNK, ComponentClass, chunked, load_components
from lookup.elsewhere import Elsewhere
from lookup.offices import Office, street_offices
from lookup.rules import current_duties, current_zones

log = logging.getLogger("citygrid.index")
# How long a reload waits for a standby to replay the change it heard of, before it reads the
# primary instead.
REPLAY_WAIT_S = 10.0

@dataclass
class Zone:
    code: str
    name: str
    unit: str
    classes: frozenset[str]     # "kind:code"; empty: every class
    area_m2: float


@dataclass
class DistrictIndex:
    code: str
    name: str
    scheme: Scheme
    frame: LocalFrame
    bbox: tuple[float, float, float, float]   # lon/lat bounds of the grids
    grid_codes: np.ndarray      # object, sorted (index order is code order)
    grid_geoms: np.ndarray      # EPSG:4490
    grid_shapes: np.ndarray     # local frame, prepared for fast point-in-polygon tests
    grid_local: STRtree         # over grid_shapes
    # Each grid shrunk by a little more than the edge tolerance, prepared: a point inside it is
    # farther than the tolerance from every other grid (the test for many points at once).
    grid_cores: np.ndarray
    streets: dict[str, str | None]
    communities: dict[str, str | None]
    offices: dict[str, Office]                # street code → its office (属地兜底)
    components: dict[str, ComponentClass]
    class_info: dict[tuple[str, str], str]    # (kind, code) → name
    duties: dict[tuple[str, str], dict[str, Any]]
    zones: list[Zone]
    zone_tree: STRtree | None
    zone_geoms: np.ndarray      # local frame
    orgs: dict[int, str]
    loaded_at: float = field(default_factory=time.time)
    # The parts of answers that depend on the district's data alone (a street's Area, a class's
    # ClassRef, a street's 属地 party), made on first use and shared by later answers: the
    # district's data never changes under it (a reload makes a new DistrictIndex).
    memo: dict[tuple[str, ...], Any] = field(default_factory=dict, repr=False)

    @property
    def component_count(self) -> int:
        return sum(len(c.codes) for c in self.components.values())

    def radius(self, class_code: str, default: float) -> float:
        r = self.duties.get(("component", class_code), {}).get("radius_m")
        return float(r) if r else default

    def kind_of(self, class_code: str, kind: str | None = None) -> str | None:
        """The kind of a class code: as asked, else component before event (legacy codes
        repeat across kinds; GB/T 47678 gives a component and its 异常 matter one code)."""
        if kind is not None:
            return kind if (kind, class_code) in self.class_info else None
        for k in ("component", "event"):
            if (k, class_code) in self.class_info:
                return k
        return None


class LookupIndex:
    """All districts (or those a process serves, `only`); thread-safe for readers, reloaded
    per district by one writer. With standbys (`reads`), districts load from a standby that has
    replayed the change that made them load."""

    def __init__(self, engine: Engine, *, only: frozenset[str] | None = None,
                 reads: Callable[[], ReadRouter | None] | None = None) -> None:
        self.engine = engine
        self.only = only
        self.reads = reads or (lambda: None)
        self.districts: dict[str, DistrictIndex] = {}
        # the outlines of the districts not served, when only some are (lookup.elsewhere)
        self.elsewhere: Elsewhere | None = None
        self._lock = threading.Lock()
        self._listener: threading.Thread | None = None
        self._stop = threading.Event()
        self.ready = threading.Event()
        # called with a district's code when it is about to be reloaded (its data changed),
        # and when it has been
        self.on_change: list[Callable[[str], None]] = []
        self.on_reload: list[Callable[[str], None]] = []

    # -- loading -------------------------------------------------------------------------------

    @classmethod
    def of_session(cls, session: Session, codes: list[str]) -> LookupIndex:
        """An index of these districts as `session` sees them (uncommitted imports too): for
        checking a county before it goes live."""
        from grid.districts import get_district

        index = cls(session.get_bind())  # type: ignore[arg-type]
        for code in codes:
            built = _load_district(session, get_district(session, code))
            if built is not None:
                index.districts[code] = built
        index.ready.set()
        return index

    def source(self, codes: list[str], wait_s: float = 0.0) -> Engine:
        """Where to read these districts: a standby that has replayed what is known of them
        (waiting up to `wait_s` for one), else the primary."""
        reads = self.reads()
        return self.engine if reads is None else reads.owner_engine(codes, wait_s)

    def serves(self, code: str) -> bool:
        return self.only is None or code in self.only

    def load(self, only: list[str] | None = None) -> LookupIndex:
        """Load every district this index serves (or just `only`)."""
        with Session(self.source([])) as session:
            every = [d.code for d in list_districts(session)]
            codes = [c for c in (every if only is None else only) if self.serves(c)]
            if self.only is not None:
                self.elsewhere = Elsewhere.load(
                    session, [c for c in every if not self.serves(c)])
        for code in codes:
            self.reload(code)
        self.ready.set()
        return self

    def reload(self, district_code: str) -> None:
        """Load one district afresh from PostGIS and swap it in."""
        if self.ready.is_set():          # a change, not the first load
            for callback in self.on_change:
                callback(district_code)
        started = time.perf_counter()
        old = self.districts.get(district_code)
        engine = self.source([district_code], REPLAY_WAIT_S)
        # Garbage first, so that the freeze below keeps none of it for ever (an old app's
        # engine in a reference cycle would keep its connections open): cheap, the index of
        # earlier loads being frozen already and out of the collector's walk.
        gc.collect()
        with _collector_paused():
            with Session(engine) as session:
                from grid.districts import get_district

                district = get_district(session, district_code)
                built = _load_district(session, district)
                # The components came as one value, and libpq keeps its receive buffer at the
                # size of the largest value received: pooled, the connection would hold as much
                # again as a large district's rows for the life of the process (bench capacity:
                # 51 MB after 640,000 components). Closed instead; the next load connects anew.
                session.connection().invalidate()
            with self._lock:
                districts = dict(self.districts)
                if built is None:
                    districts.pop(district_code, None)
                else:
                    districts[district_code] = built
                # one assignment: readers see old or new, never half
                self.districts = districts
            # The index is long-lived: out of the collector's sight from now on (see
            # `_collector_paused`); frozen before the collector wakes, which would walk all of
            # it as newly made.
            gc.freeze()
        log.info("lookup index: district %s loaded in %.2f s", district_code,
                 time.perf_counter() - started)
        for callback in self.on_reload:
            callback(district_code)
        if old is not None:
            _release(old)

    # -- refresh on change ---------------------------------------------------------------------

    def listen(self, url: str) -> None:
        """Reload districts when imports announce changes (a daemon thread)."""
        if self._listener is not None:
            return
        self._listener = threading.Thread(target=self._listen, args=(url,), daemon=True,
                                          name="citygrid-index-listener")
        self._listener.start()

    def stop(self) -> None:
        self._stop.set()

    def _listen(self, url: str) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(url, autocommit=True, **ALIVE) as conn:
                    conn.execute(f"LISTEN {CHANGES}")
                    reads = self.reads()
                    if reads is not None:
                        reads.primary_back()
                        # what committed while we were not listening: on the standby too
                        reads.mark(self.districts, _position(conn))
                    # Changes that committed while we were not listening are caught up here.
                    self.load()
                    while not self._stop.is_set():
                        # Collect for up to a second (a burst of imports reloads a district
                        # once); leaving the generator early could drop notifications it has
                        # already read from the socket.
                        pending = {note.payload.rsplit(":", 1)[-1]
                                   for note in conn.notifies(timeout=1.0)}
                        if pending and reads is not None:
                            # committed by now: the reads of these districts must see it
                            reads.mark(pending, _position(conn))
                        for code in sorted(pending):
                            try:
                                if self.serves(code):
                                    self.reload(code)
                                else:
                                    self._elsewhere_changed(code)
                            except Exception:
                                log.exception("lookup index: reloading %s failed", code)
            except Exception as exc:
                if self._stop.is_set():
                    break
                reads = self.reads()
                if reads is not None and isinstance(exc, psycopg.OperationalError):
                    reads.primary_lost()     # the listener's own connection: the primary's
                # A restarted or unreachable database: keep trying, the index stays as it was.
                log.warning("lookup index: listener lost its connection (%s); retrying",
                            str(exc).strip().splitlines()[0] if str(exc).strip() else exc)
                if reads is not None and not self.ready.is_set():
                    try:    # a process started while the primary is down: from a standby
                        self.load()
                    except Exception:
                        log.warning("lookup index: no standby to load from either")
                self._stop.wait(2.0)

    def _elsewhere_changed(self, code: str) -> None:
        """A district not served changed: its outline is read again (it may be new)."""
        if self.elsewhere is None:
            return
        for callback in self.on_change:      # its tiles, which this process renders too
            callback(code)
        with Session(self.source([code], REPLAY_WAIT_S)) as session:
            self.elsewhere = self.elsewhere.changed(session, code)
        for callback in self.on_reload:
            callback(code)


def _position(conn: Any) -> int:
    """The primary's WAL position now, on the listener's own connection."""
    return parse_lsn(conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0])


# -- loading one district ----------------------------------------------------------------------


def _collector_paused() -> AbstractContextManager[None]:
    """The collector held off while a district loads (`gis.collector`): a district allocates
    hundreds of thousands of tracked objects, and a full collection in the middle would hold
    the GIL while no lookup is answered; `LookupIndex.reload` then freezes what is alive
    (`gc.freeze`), the new index among it, so later full collections walk only what came
    after. The index holds no reference cycles: what it frees when replaced, reference
    counting frees."""
    return collector.paused()


# How long a replaced district may still be read (a bulk lookup under way) before it is left to
# be freed by its last reader instead.
RELEASE_WAIT_S = 1.0


def _release(old: DistrictIndex) -> None:
    """Free a replaced district a class of components at a time.

    Freed at once, its hundreds of thousands of geometries and strings go in one call that holds
    the GIL for tens of milliseconds (about 50 ms for 200,000 components). Once no reader holds
    the district (only this function's references are left: none can reach it any more), its
    classes and then its grids are dropped one after the other, the GIL free for lookups in
    between.
    """
    deadline = time.monotonic() + RELEASE_WAIT_S
    while sys.getrefcount(old) > 3:    # the caller's `old`, ours and getrefcount's argument
        if time.monotonic() > deadline:
            return
        time.sleep(0.01)
    while old.components:
        old.components.popitem()
        time.sleep(0)
    for name in ("grid_cores", "grid_local", "grid_shapes", "grid_geoms"):
        setattr(old, name, _NOTHING)       # the grids' prepared polygons: about as costly
        time.sleep(0)


_NOTHING = np.array([], dtype=object)


def _load_district(session: Session, district: District) -> DistrictIndex | None:
    grids = grid_store.current_grids(session, district.code)
    if not grids:
        return None
    grid_geoms = np.array([g.geom for g in grids], dtype=object)
    minx, miny, maxx, maxy = shapely.total_bounds(grid_geoms)
    frame = LocalFrame.around((minx + maxx) / 2, (miny + maxy) / 2)
    local = _prepared(chunked(frame.geoms, grid_geoms))
    info = {(k, c): i.name for k in ("component", "event")
            for c, i in catalog.classes(session, district.scheme, k).items()}
    zones = current_zones(session, district.code)
    zone_geoms = frame.geoms(np.array([z["geom"] for z in zones], dtype=object)) if zones \
        else np.array([], dtype=object)
    return DistrictIndex(
        code=district.code, name=district.name, scheme=district.scheme, frame=frame,
        bbox=(float(minx), float(miny), float(maxx), float(maxy)),
        grid_codes=np.array([g.code for g in grids], dtype=object), grid_geoms=grid_geoms,
        grid_shapes=local, grid_local=STRtree(local), grid_cores=_cores(local),
        streets=grid_store.names(session, district.code, "street"),
        communities=grid_store.names(session, district.code, "community"),
        offices=street_offices(session, district.code),
        components=load_components(session, district.code, frame),
        class_info=info, duties=current_duties(session, district.code),
        zones=[Zone(z["code"], z["name"], z["unit"], frozenset(z["classes"]), z["area_m2"])
               for z in zones],
        zone_tree=STRtree(zone_geoms) if zones else None, zone_geoms=zone_geoms,
        orgs=dict(session.execute(sa.select(organisation.c.id, organisation.c.name).where(
            organisation.c.district_code == district.code)).all()))


def _prepared(geoms: np.ndarray) -> np.ndarray:
    """The geometries prepared in place (`shapely.prepare`), a CHUNK at a time."""
    for i in range(0, len(geoms), CHUNK):
        shapely.prepare(geoms[i:i + CHUNK])
    return geoms


# Wider than any edge tolerance a setting would choose (LookupOptions.edge_tolerance_m: 1 m):
# the test is then only a filter, the exact count of grids within the tolerance follows.
CORE_MARGIN_M = 2.0


def _cores(local: np.ndarray) -> np.ndarray:
    return _prepared(chunked(lambda c: shapely.buffer(c, -CORE_MARGIN_M, quad_segs=2), local))
