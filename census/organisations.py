"""Organisations a component names: 主管部门 (department), 权属单位 (owner), 养护单位
(maintainer). One record per name and district, with the code the file gave and the
统一社会信用代码 when that code is a valid one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from census.codes import valid_credit_code
from census.tables import organisation
from gis.columns import as_numpy, combined


@dataclass(frozen=True)
class Organisation:
    id: int
    name: str
    code: str | None
    credit_code: str | None


def upsert(session: Session, district_code: str,
           named: Iterable[tuple[str, str | None]]) -> dict[str, int]:
    """Make sure every (name, code) exists; return name → id. A code given replaces the stored
    one; no code keeps it."""
    first: dict[str, str | None] = {}
    for name, code in named:
        if name and (name not in first or (first[name] is None and code)):
            first[name] = code
    if first:
        rows = [{"district_code": district_code, "name": n, "code": c,
                 "credit_code": c if valid_credit_code(c) else None} for n, c in first.items()]
        stmt = insert(organisation).values(rows)
        stmt = stmt.on_conflict_do_update(
            index_elements=[organisation.c.district_code, organisation.c.name],
            set_={"code": sa.func.coalesce(stmt.excluded.code, organisation.c.code),
                  "credit_code": sa.func.coalesce(stmt.excluded.credit_code,
                                                  organisation.c.credit_code)},
            where=sa.or_(stmt.excluded.code.is_distinct_from(organisation.c.code),
                         stmt.excluded.credit_code.is_distinct_from(organisation.c.credit_code)))
        session.execute(stmt)
    return dict(session.execute(sa.select(organisation.c.name, organisation.c.id).where(
        organisation.c.district_code == district_code,
        organisation.c.name.in_(list(first)))).all()) if first else {}


def ids_for(names: pa.Array, ids: dict[str, int]) -> pa.Array:
    """The organisation id of each name (null where the name is null)."""
    if not ids:
        return pa.nulls(len(names), pa.int64())
    keys = pa.array(list(ids), pa.string())
    values = pa.array(list(ids.values()), pa.int64())
    return pc.take(values, pc.index_in(names, value_set=keys))


def by_ids(session: Session, district_code: str) -> dict[int, Organisation]:
    rows = session.execute(sa.select(organisation).where(
        organisation.c.district_code == district_code))
    return {r.id: Organisation(r.id, r.name, r.code, r.credit_code) for r in rows}


def greatest_codes(names: pa.Array, codes: pa.Array) -> list[tuple[str, str | None]]:
    """Each distinct name, in the order first met, with the greatest of the codes given with it
    (None where none is). By sorting: Arrow's group_by would load pyarrow.dataset, and pandas
    with it (gis.lazypandas)."""
    encoded = combined(pc.dictionary_encode(names))
    if not len(encoded.dictionary):
        return []
    pairs = pa.table({"n": encoded.indices, "c": codes})
    order = pc.sort_indices(pairs, sort_keys=[("n", "ascending", "at_end"),
                                              ("c", "descending", "at_end")])
    ranked = pairs.take(order)
    ids = as_numpy(pc.fill_null(ranked.column("n"), -1))
    distinct, first = np.unique(ids, return_index=True)
    first = first[distinct >= 0]
    greatest = ranked.column("c").take(pa.array(first, pa.int64())).to_pylist()
    return list(zip(encoded.dictionary.to_pylist(), greatest, strict=True))
