"""The census table is partitioned by district (`component_341802`, …, and `component_default`
for districts without one). A district's first census is built as a table of its own — bulk
insert, then its indexes, then `ATTACH PARTITION`, which checks the foreign keys in one pass —
instead of going through per-row index and foreign-key upkeep, several times faster for a
million components.

Creating, detaching and attaching partitions is DDL: only the table's owner (the CLI, a local
administrator) may; an import over HTTP, as the application role, merges row by row into the
partition (or the default one) as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

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


def can_load_fresh(session: Session, district_code: str) -> bool:
    """A first census of a district with a partition of its own, imported by the owner."""
    return (owns_census(session) and ensure_partition(session, district_code)
            and not _has_rows(session, district_code))


def create_load_table(session: Session, district_code: str) -> str:
    """An empty table shaped like the census, without indexes, to COPY a first census into."""
    load = f"{partition_name(district_code)}_load"
    session.execute(sa.text(f"DROP TABLE IF EXISTS {load}"))
    session.execute(sa.text(f"CREATE TABLE {load} (LIKE component INCLUDING DEFAULTS)"))
    return load


def finish_load(session: Session, district_code: str) -> None:
    """Index the loaded table and swap it in as the district's partition."""
    code = DistrictCode.parse(district_code).value
    name = partition_name(code)
    load = f"{name}_load"
    # Index builds are sorts: give them memory for this transaction.
    session.execute(sa.text("SET LOCAL maintenance_work_mem = '512MB'"))
    # The indexes and checks the partitioned table has, so ATTACH adopts rather than rebuilds
    # them; the bound check spares ATTACH a scan of the new rows.
    for statement in (
            f"ALTER TABLE {load} ADD CONSTRAINT {load}_pkey PRIMARY KEY (district_code, code)",
            f"ALTER TABLE {load} ADD CONSTRAINT ck_component_in_district "
            "CHECK (left(code, 6) = district_code)",
            f"ALTER TABLE {load} ADD CONSTRAINT {load}_bound CHECK (district_code = '{code}')",
            f"CREATE INDEX {load}_geom ON {load} USING gist (geom)",
            f"CREATE INDEX {load}_class ON {load} (district_code, class_code)",
            f"CREATE INDEX {load}_grid ON {load} (district_code, grid_code)",
            f"ALTER TABLE component DETACH PARTITION {name}",
            f"DROP TABLE {name}",
            f"ALTER TABLE {load} RENAME TO {name}",
            f"ALTER TABLE component ATTACH PARTITION {name} FOR VALUES IN ('{code}')",
            # the next load of this district builds {load}_… again
            f"ALTER INDEX {load}_pkey RENAME TO {name}_pkey",
            f"ALTER INDEX {load}_geom RENAME TO {name}_geom",
            f"ALTER INDEX {load}_class RENAME TO {name}_class",
            f"ALTER INDEX {load}_grid RENAME TO {name}_grid"):
        session.execute(sa.text(statement))
    protect(session, name)
