"""Search by code: a grid code, a component 标识码 or a case number → where it is (the map's
search box flies there)."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gis.errors import BadInput, NotFound

_CASE = re.compile(r"^\d{6}-\d{8}-\d{4}$")
_EXTENT = ("ST_AsGeoJSON(geom)::json AS geometry, ST_XMin(geom) AS x1, ST_YMin(geom) AS y1, "
           "ST_XMax(geom) AS x2, ST_YMax(geom) AS y2")
# Constant SQL assembled from our own fragments; the code searched for is a bound parameter.
_QUERIES = {
    "case": f"SELECT number AS id, class_name || '：' || description AS label, {_EXTENT} "  # noqa: S608
            "FROM case_file WHERE district_code = left(:q, 6) AND number = :q",
    "grid": f"SELECT code AS id, '单元网格 ' || code AS label, {_EXTENT} "  # noqa: S608
            "FROM grid WHERE district_code = left(:q, 6) AND valid_to IS NULL AND code = :q",
    "component": f"SELECT code AS id, name || ' ' || code AS label, {_EXTENT} "  # noqa: S608
                 "FROM component WHERE district_code = left(:q, 6) AND code = :q",
}


def search(db: Session, q: str) -> dict[str, Any]:
    text = q.strip().upper()
    if not text:
        raise BadInput("q：请给出单元网格编码、部件标识码或案件编号 "
                       "(q: give a grid code, a component 标识码 or a case number)")
    if _CASE.match(text):
        kinds = ["case"]
    elif len(text) in (14, 15):
        kinds = ["grid"]
    elif len(text) in (16, 17):
        kinds = ["component"]
    else:
        raise BadInput(f"q：{q!r} 不是单元网格编码（14/15 位）、标识码（16/17 位数字）或案件编号"
                       f"（如 341802-20261127-0001） (q: {q!r} is not a grid code, a 标识码 or "
                       "a case number)")
    for kind in kinds:
        row = db.execute(sa.text(_QUERIES[kind]), {"q": text}).first()
        if row is not None:
            return {"type": kind, "id": row.id, "label": row.label, "geometry": row.geometry,
                    "bbox": [row.x1, row.y1, row.x2, row.y2]}
    raise NotFound(f"没有编码为 {q!r} 的单元网格、部件或案件 (nothing with the code {q!r})")
