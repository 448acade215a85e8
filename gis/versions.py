"""Versioned imports, written once: the next version of a set of coded things (grids, zones,
权责清单 entries, street and community boundaries) compared with the current one.

Each thing the file names ends new, changed or unchanged; each current thing it no longer names
is gone. Changed and gone rows are retired (their `valid_to` set to the import's moment), never
deleted; new and changed things get a new row valid from that moment, so what held at any time
can still be read (`valid_from <= t < valid_to`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gis.report import ImportReport

K = TypeVar("K", bound=Hashable)


@dataclass
class Changes(Generic[K]):
    new: list[K] = field(default_factory=list)
    changed: list[K] = field(default_factory=list)
    unchanged: list[K] = field(default_factory=list)
    gone: list[K] = field(default_factory=list)

    @property
    def to_write(self) -> list[K]:
        """Things that get a new row: new and changed."""
        return self.new + self.changed

    @property
    def to_retire(self) -> list[K]:
        """Things whose current row ends: changed and gone."""
        return self.changed + self.gone

    def state(self, key: K) -> str:
        """new, changed, unchanged or gone."""
        for name in ("new", "changed", "unchanged", "gone"):
            if key in getattr(self, name):
                return name
        raise KeyError(key)

    def count(self, report: ImportReport) -> None:
        """Each thing the file named, as imported, updated or unchanged."""
        report.imported += len(self.new)
        report.updated += len(self.changed)
        report.unchanged += len(self.unchanged)


def compare(current: Mapping[K, Any], wanted: Mapping[K, Any],
            same: Callable[[Any, Any], bool]) -> Changes[K]:
    """What the next version changes, in the order of `wanted` (gone: sorted)."""
    out: Changes[K] = Changes()
    for key, value in wanted.items():
        if key not in current:
            out.new.append(key)
        elif same(current[key], value):
            out.unchanged.append(key)
        else:
            out.changed.append(key)
    out.gone = sorted((k for k in current if k not in wanted), key=repr)
    return out


def retire(session: Session, table: sa.Table, district_code: str, columns: Sequence[str],
           keys: Iterable[Any], at: datetime) -> None:
    """End the current rows of these things (keys: values of `columns`, a tuple for several)."""
    keys = list(keys)
    if not keys:
        return
    cols = [table.c[c] for c in columns]
    match = (cols[0].in_(keys) if len(cols) == 1
             else sa.tuple_(*cols).in_([tuple(k) for k in keys]))
    session.execute(sa.update(table).where(
        table.c.district_code == district_code, table.c.valid_to.is_(None), match)
        .values(valid_to=at))
