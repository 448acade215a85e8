"""The census table is partitioned by district (`component_341802`, …, and `component_default`
for districts without one). A district's first census is built as a table of its own — bulk
insert, then its indexes, then `ATTACH PARTITION`, which checks the foreign keys in one pass —
instead of going through per-row index and foreign-key upkeep, several times faster for a
million components.

Creating, detaching and attaching partitions is DDL: only the table's owner (the CLI, a local
administrator) may; an import over HTTP, as the application role, merges row by row into the
partition (or the default one) as before.

The swap locks tables every district shares: the census table and its default partition, and
the tables the census refers to (`district`, `organisation`, `census_import`, …) — ACCESS
EXCLUSIVE when an empty partition made by `district add` is dropped. Two counties' first census
imports at once used to deadlock there; now
- one first census is loaded at a time (`hold_first_load`): each has written its rows of
  `organisation` and `census_import` before its swap, and the swap of each needs the other's
  writes committed. The import takes that lock before it touches any table (deciding from the
  catalog alone whether it may load a first census), so that it waits holding nothing;
- the swap takes all its locks before it starts, or after a short wait (well below the server's
  deadlock check) none of them, and tries again: an import of another district, or a reader,
  holding one of these tables never waits for a swap that holds half of them. After a while
  it waits as any statement does, and the server's deadlock check settles a true cycle.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from gis.db import lock_not_available, lock_timeout
from gis.tenancy import protect
from grid.codes import DistrictCode


def partition_name(district_code: str) -> str:
    return f"component_{DistrictCode.parse(district_code).value}"


def owns_census(session: Session) -> bool:
    """Whether this session may change the census table's partitions."""
    return bool(session.execute(sa.text(
        "SELECT pg_has_role(current_user, c.relowner, 'USAGE') FROM pg_class c "
        "WHERE c.oid = 'component'::regclass")).scalar())


def has_partition(session: Session, district_code: str) -> bool:
    return bool(session.execute(sa.text(
        "SELECT EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'component'::regclass AND c.relname = :name)"),
        {"name": partition_name(district_code)}).scalar())


def _has_rows(session: Session, district_code: str) -> bool:
    return bool(session.execute(sa.text(
        "SELECT EXISTS (SELECT 1 FROM component WHERE district_code = :d)"),
        {"d": district_code}).scalar())


def ensure_partition(session: Session, district_code: str) -> bool:
    """Give the district a partition of its own when it can have one; True when it has one."""
    if has_partition(session, district_code):
        return True
    if not owns_census(session) or _has_rows(session, district_code):
        return False     # its rows already live in the default partition: they stay there
    name = partition_name(district_code)
    session.execute(sa.text(f"CREATE TABLE {name} PARTITION OF component "
                            f"FOR VALUES IN ('{district_code}')"))
    protect(session, name)
    return True


FIRST_LOADS = 0x6367_0002      # advisory lock key (with 0): one first census at a time


def hold_first_load(session: Session, district_code: str,
                    on_wait: Callable[[], None] | None = None) -> bool:
    """Whether this import may load the district's first census, holding then the lock that
    lets one first census load at a time (`on_wait` is told when it has to wait). Call it
    before the transaction reads any table: the catalog alone decides (the owner imports, and
    the district has no partition that ever held rows: more than it takes, never less)."""
    may = session.execute(sa.text(
        "SELECT pg_has_role(current_user, p.relowner, 'USAGE') AND NOT EXISTS (SELECT 1 FROM "
        "pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = p.oid AND "
        "c.relname = :name AND c.relpages > 0) FROM pg_class p "
        "WHERE p.oid = 'component'::regclass"), {"name": partition_name(district_code)}).scalar()
    if not may:
        return False
    key = {"c": FIRST_LOADS}
    if not session.execute(sa.text("SELECT pg_try_advisory_xact_lock(:c, 0)"), key).scalar():
        if on_wait is not None:
            on_wait()
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:c, 0)"), key)
    return True


def can_load_fresh(session: Session, district_code: str) -> bool:
    """A first census of a district, imported by the owner (holding `hold_first_load`): it
    becomes the district's own partition (an empty one it has is replaced). No partition is
    made beforehand: that would lock the census table against every reader for the whole
    load."""
    return owns_census(session) and not _has_rows(session, district_code)


def create_load_table(session: Session, district_code: str) -> str:
    """An empty table shaped like the census, without indexes, to COPY a first census into.
    Its checks are there from the start (the census's own, and the partition bound that spares
    ATTACH a scan): each row is checked as it is copied, not in a scan of its own afterwards."""
    code = DistrictCode.parse(district_code).value
    load = f"{partition_name(code)}_load"
    session.execute(sa.text(f"DROP TABLE IF EXISTS {load}"))
    session.execute(sa.text(f"CREATE TABLE {load} (LIKE component INCLUDING DEFAULTS "
                            "INCLUDING CONSTRAINTS)"))
    session.execute(sa.text(f"ALTER TABLE {load} ADD CONSTRAINT {load}_bound "
                            f"CHECK (district_code = '{code}')"))
    return load


def finish_load(session: Session, district_code: str) -> None:
    """Index the loaded table and swap it in as the district's partition."""
    code = DistrictCode.parse(district_code).value
    name = partition_name(code)
    load = f"{name}_load"
    # Index builds are sorts: give them memory for this transaction.
    session.execute(sa.text("SET LOCAL maintenance_work_mem = '512MB'"))
    # The indexes the partitioned table has, so ATTACH adopts rather than rebuilds them (its
    # checks the table has had since create_load_table).
    for statement in (
            f"ALTER TABLE {load} ADD CONSTRAINT {load}_pkey PRIMARY KEY (district_code, code)",
            f"CREATE INDEX {load}_geom ON {load} USING gist (geom)",
            f"CREATE INDEX {load}_class ON {load} (district_code, class_code)",
            f"CREATE INDEX {load}_grid ON {load} (grid_code)"):
        session.execute(sa.text(statement))
    placeholder = has_partition(session, code)       # empty: made by `district add`
    _hold_for_swap(session, name if placeholder else None)
    if placeholder:
        for statement in (f"ALTER TABLE component DETACH PARTITION {name}",
                          f"DROP TABLE {name}"):
            session.execute(sa.text(statement))
    for statement in (
            f"ALTER TABLE {load} RENAME TO {name}",
            f"ALTER TABLE component ATTACH PARTITION {name} FOR VALUES IN ('{code}')",
            # the next load of this district builds {load}_… again
            f"ALTER INDEX {load}_pkey RENAME TO {name}_pkey",
            f"ALTER INDEX {load}_geom RENAME TO {name}_geom",
            f"ALTER INDEX {load}_class RENAME TO {name}_class",
            f"ALTER INDEX {load}_grid RENAME TO {name}_grid"):
        session.execute(sa.text(statement))
    protect(session, name)


ATTEMPT_S = 0.2        # well below deadlock_timeout (1 s by default)
PATIENCE_S = 30.0


def _hold_for_swap(session: Session, placeholder: str | None) -> None:
    """Lock what the swap will lock — all of it, or after a short wait none of it, and again;
    after PATIENCE_S, wait as long as it takes. `placeholder`: the district's empty partition,
    to be dropped."""
    refers = session.execute(sa.text(
        "SELECT DISTINCT confrelid::regclass::text FROM pg_constraint "
        "WHERE conrelid = 'component'::regclass AND contype = 'f' ORDER BY 1")).scalars().all()
    if placeholder:     # DROP TABLE takes its foreign keys' triggers off the tables referred to
        locks = [f"LOCK TABLE {', '.join(refers)}, ONLY component, component_default, "
                 f"{placeholder} IN ACCESS EXCLUSIVE MODE"]
    else:       # ATTACH PARTITION
        locks = [f"LOCK TABLE {', '.join(refers)} IN SHARE ROW EXCLUSIVE MODE",
                 "LOCK TABLE ONLY component IN SHARE UPDATE EXCLUSIVE MODE",
                 "LOCK TABLE component_default IN ACCESS EXCLUSIVE MODE"]
    deadline = time.monotonic() + PATIENCE_S
    pause = 0.05
    while True:
        patient = time.monotonic() > deadline
        bound: AbstractContextManager[None] = (nullcontext() if patient
                                               else lock_timeout(session, ATTEMPT_S))
        try:
            with session.begin_nested(), bound:
                for statement in locks:
                    session.execute(sa.text(statement))
            return
        except OperationalError as exc:
            if patient or not lock_not_available(exc):
                raise
            time.sleep(pause)
            pause = min(1.0, pause * 2)
