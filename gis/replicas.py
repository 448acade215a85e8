"""Reads from PostgreSQL standbys (`CITYGRID_READ_DATABASE_URL`), and what each read must see.

A standby built with `pg_basebackup -R` replays the primary's write-ahead log a little behind it.
A read may go to a standby only once that standby has replayed every write the read must see, so
this process keeps, per district, the primary's WAL position after the last write to it that it
knows of (`mark`):

- its own writes, when their transaction commits (`wrote`, from the HTTP session of a write);
- every other process's imports and case changes, when their NOTIFY arrives (PostgreSQL sends a
  notification when the transaction commits; the listeners of the lookup index and of the case
  feed mark the district with the primary's position then).

A district's read goes to a standby whose `pg_last_wal_replay_lsn()` has passed that position,
else to the primary. With the primary down (its listeners lost their connection: `primary_lost`),
the standbys serve every read, the best that is left, and writes fail at once with 503; when it
is back (`primary_back`) the next write goes through, without a restart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Engine

log = logging.getLogger("citygrid.replicas")

# A standby that could not be asked is left alone this long before it is asked again.
RETRY_S = 2.0
# What a standby was seen to have replayed is trusted this long; then it is asked again (one
# query), so that a standby that stopped is passed over before a read fails on it.
FRESH_S = 1.0
# How often a read that waits for a standby to catch up asks it again.
POLL_S = 0.02
CAUGHT_UP = 2**64        # what a server that is not in recovery has "replayed": everything


def parse_lsn(text: str) -> int:
    """PostgreSQL's `0/3000148` as a number (positions compare as numbers)."""
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


def read_lsn(text: str) -> int:
    """A client's WAL position (`Citygrid-Read-After: 0/3000148`); raises ValueError."""
    high, sep, low = text.strip().partition("/")
    if not sep or not high or not low:
        raise ValueError(text)
    return parse_lsn(f"{high}/{low}")


def format_lsn(lsn: int) -> str:
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


@dataclass
class Standby:
    """One standby: its engines (as the owner, for loading the lookup index; as the application
    role, which row-level security binds, for requests) and what it was last seen to have
    replayed."""

    name: str
    owner: Engine
    app: Engine
    replayed: int = 0
    checked_at: float = -FRESH_S
    down_until: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def check(self) -> int | None:
        """Ask the standby how far it has replayed (None: it cannot be reached)."""
        if time.monotonic() < self.down_until:
            return None
        try:
            with self.owner.connect() as conn:
                recovering, lsn = conn.execute(sa.text(
                    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text")).one()
        except sa.exc.SQLAlchemyError as exc:
            self.down_until = time.monotonic() + RETRY_S
            log.warning("standby %s cannot be reached: %s", self.name,
                        str(exc).strip().splitlines()[0])
            return None
        seen = CAUGHT_UP if not recovering else parse_lsn(lsn) if lsn else 0
        with self.lock:
            self.replayed = max(self.replayed, seen)
            self.checked_at = time.monotonic()
            return self.replayed

    def known(self, need: int) -> bool:
        """Whether the standby is known, without asking it, to have replayed `need`."""
        now = time.monotonic()
        return self.replayed >= need and now - self.checked_at < FRESH_S and \
            now >= self.down_until


class ReadRouter:
    """Chooses, for a read of some districts, a standby that has replayed what the read must
    see, or the primary."""

    def __init__(self, primary: Callable[[], Engine], primary_app: Callable[[], Engine],
                 standbys: list[Standby]) -> None:
        self.primary, self.primary_app = primary, primary_app
        self.standbys = standbys
        self.primary_up = True
        self._marks: dict[str, int] = {}
        self._lock = threading.Lock()
        self._next = 0

    # -- what reads must see ---------------------------------------------------------------

    def mark(self, districts: Iterable[str], lsn: int) -> None:
        """Reads of these districts must see the primary's WAL up to `lsn`."""
        with self._lock:
            for d in districts:
                if lsn > self._marks.get(d, 0):
                    self._marks[d] = lsn

    def needed(self, districts: Iterable[str]) -> int:
        marks = self._marks
        return max((marks.get(d, 0) for d in districts), default=0)

    def primary_lsn(self) -> int | None:
        """The primary's WAL position now (None: it cannot be reached)."""
        try:
            with self.primary().connect() as conn:
                lsn = parse_lsn(conn.execute(sa.text(
                    "SELECT pg_current_wal_lsn()::text")).scalar_one())
        except sa.exc.SQLAlchemyError:
            self.primary_lost()
            return None
        self.primary_back()
        return lsn

    def wrote(self, districts: Iterable[str]) -> int | None:
        """A write to these districts committed: reads of them must see it. Returns the
        primary's position after it (None: the primary could not be asked)."""
        lsn = self.primary_lsn()
        if lsn is not None:
            self.mark(districts, lsn)
        return lsn

    def primary_lost(self) -> None:
        if self.primary_up:
            log.warning("the primary cannot be reached: reads go to the standbys")
        self.primary_up = False

    def primary_back(self) -> None:
        self.primary_up = True

    # -- choosing a server -----------------------------------------------------------------

    def standby_for(self, districts: Iterable[str], wait_s: float = 0.0,
                    at_least: int = 0) -> Standby | None:
        """A standby that has replayed every write known to these districts, and the WAL up to
        `at_least` (a client's `Citygrid-Read-After`), waiting up to `wait_s` for one to catch
        up; or None."""
        need = max(self.needed(districts), at_least)
        deadline = time.monotonic() + wait_s
        while True:
            n = len(self.standbys)
            start, self._next = self._next, (self._next + 1) % max(n, 1)
            order = [self.standbys[(start + i) % n] for i in range(n)]
            for s in order:                       # what is known already: no round trip
                if s.known(need):
                    return s
            for s in order:
                seen = s.check()
                if seen is not None and seen >= need:
                    return s
            if time.monotonic() >= deadline:
                return None
            time.sleep(POLL_S)

    def _any_standby(self) -> Standby | None:
        """A standby not known to be down, however far behind."""
        return next((s for s in self.standbys if time.monotonic() >= s.down_until), None)

    def _read_from(self, districts: Iterable[str], wait_s: float = 0.0,
                   at_least: int = 0) -> Standby | None:
        """The standby to read these districts from, None for the primary: a standby that has
        replayed their writes; with the primary down, any standby that answers (the best that
        is left)."""
        s = self.standby_for(districts, wait_s if self.primary_up else 0.0, at_least)
        if s is None and not self.primary_up:
            s = self._any_standby()
        return s

    def app_engine(self, districts: Iterable[str], at_least: int = 0) -> Engine:
        """The engine of a request's read of these districts (as the application role)."""
        s = self._read_from(districts, at_least=at_least)
        return s.app if s is not None else self.primary_app()

    def owner_engine(self, districts: Iterable[str], wait_s: float = 0.0) -> Engine:
        """The engine of a read as the owner (the lookup index loading a district)."""
        s = self._read_from(districts, wait_s)
        return s.owner if s is not None else self.primary()

    def status(self) -> list[dict[str, object]]:
        """Each standby and what it was last seen to have replayed (`/health/detail`)."""
        return [{"standby": s.name, "replayed": format_lsn(s.replayed)
                 if s.replayed < CAUGHT_UP else "primary",
                 "reachable": time.monotonic() >= s.down_until} for s in self.standbys]

    def dispose(self) -> None:
        for s in self.standbys:
            s.owner.dispose()
            s.app.dispose()
