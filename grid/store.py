"""Queries of the unit-grid tables. Every query is scoped by district code."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import shapely
import sqlalchemy as sa
from pyproj import CRS
from sqlalchemy.orm import Session

from gis import crs as crsmod
from gis.sql import statement
from grid.tables import community as community_t
from grid.tables import grid as grid_t
from grid.tables import grid_import as grid_import_t
from grid.tables import street as street_t


@dataclass(frozen=True)
class StoredGrid:
    code: str
    street_code: str
    community_code: str
    area_m2: float
    attrs: dict[str, Any]
    geom: shapely.Geometry  # EPSG:4490


def transaction_clock(session: Session) -> datetime:
    """A timestamp for one import; clock_timestamp so two imports in a transaction differ."""
    return session.execute(sa.select(sa.func.clock_timestamp())).scalar_one()


def _valid_at(at: datetime | None) -> sa.ColumnElement[bool]:
    if at is None:
        return grid_t.c.valid_to.is_(None)
    return sa.and_(grid_t.c.valid_from <= at,
                   sa.or_(grid_t.c.valid_to.is_(None), grid_t.c.valid_to > at))


def current_grids(session: Session, district_code: str,
                  at: datetime | None = None) -> list[StoredGrid]:
    """The district's grids now, or as they were at `at`."""
    rows = session.execute(
        sa.select(grid_t.c.code, grid_t.c.street_code, grid_t.c.community_code, grid_t.c.area_m2,
                  grid_t.c.attrs, sa.func.ST_AsBinary(grid_t.c.geom).label("wkb"))
        .where(grid_t.c.district_code == district_code, _valid_at(at))
        .order_by(grid_t.c.code)).all()
    geoms = shapely.from_wkb([bytes(r.wkb) for r in rows]) if rows else np.array([])
    return [StoredGrid(r.code, r.street_code, r.community_code, r.area_m2, r.attrs, g)
            for r, g in zip(rows, geoms, strict=True)]


def grid_count(session: Session, district_code: str) -> int:
    return session.execute(sa.select(sa.func.count()).select_from(grid_t).where(
        grid_t.c.district_code == district_code, grid_t.c.valid_to.is_(None))).scalar_one()


def grid_history(session: Session, district_code: str, code: str) -> list[dict[str, Any]]:
    rows = session.execute(
        sa.select(grid_t.c.valid_from, grid_t.c.valid_to, grid_t.c.area_m2, grid_t.c.import_id)
        .where(grid_t.c.district_code == district_code, grid_t.c.code == code)
        .order_by(grid_t.c.valid_from)).all()
    return [dict(r._mapping) for r in rows]


def boundaries(session: Session, district_code: str, level: str) -> dict[str, shapely.Geometry]:
    """Known own boundaries (EPSG:4490) of a district's streets or communities."""
    table = street_t if level == "street" else community_t
    rows = session.execute(
        sa.select(table.c.code, sa.func.ST_AsBinary(table.c.boundary).label("wkb"))
        .where(table.c.district_code == district_code, table.c.boundary.is_not(None))).all()
    return {r.code: shapely.from_wkb(bytes(r.wkb)) for r in rows}


def names(session: Session, district_code: str, level: str) -> dict[str, str | None]:
    table = street_t if level == "street" else community_t
    rows = session.execute(sa.select(table.c.code, table.c.name)
                           .where(table.c.district_code == district_code))
    return {r.code: r.name for r in rows}


@dataclass(frozen=True)
class StoredStreet:
    code: str
    name: str | None
    kind: str | None        # 街道 | 镇 | 乡, as the boundary file gave it
    office: str | None      # 属地责任单位, as the boundary file gave it


def streets(session: Session, district_code: str) -> dict[str, StoredStreet]:
    """The district's streets with the kind and office their boundary file gave."""
    rows = session.execute(sa.select(street_t.c.code, street_t.c.name, street_t.c.kind,
                                     street_t.c.office)
                           .where(street_t.c.district_code == district_code))
    return {r.code: StoredStreet(r.code, r.name, r.kind, r.office) for r in rows}


def hierarchy(session: Session, district_code: str) -> list[dict[str, Any]]:
    """Streets with their communities and current grid counts."""
    counts: dict[str, int] = dict(session.execute(
        sa.select(grid_t.c.community_code, sa.func.count())
        .where(grid_t.c.district_code == district_code, grid_t.c.valid_to.is_(None))
        .group_by(grid_t.c.community_code)).all())
    streets = session.execute(sa.select(street_t.c.code, street_t.c.name,
                                        street_t.c.boundary.is_not(None).label("has_boundary"))
                              .where(street_t.c.district_code == district_code)
                              .order_by(street_t.c.code)).all()
    comms = session.execute(sa.select(community_t.c.code, community_t.c.street_code,
                                      community_t.c.name,
                                      community_t.c.boundary.is_not(None).label("has_boundary"))
                            .where(community_t.c.district_code == district_code)
                            .order_by(community_t.c.code)).all()
    out = []
    for s in streets:
        children = [{"code": c.code, "name": c.name, "grids": counts.get(c.code, 0),
                     "boundary": c.has_boundary} for c in comms if c.street_code == s.code]
        out.append({"code": s.code, "name": s.name, "boundary": s.has_boundary,
                    "grids": sum(c["grids"] for c in children), "communities": children})
    return out


def upsert_streets(session: Session, district_code: str,
                   rows: Sequence[tuple[str, str | None]]) -> None:
    """Make sure these streets exist; a name given replaces the stored one, None keeps it."""
    from sqlalchemy.dialects.postgresql import insert

    if not rows:
        return
    # rows as parameters of one statement (compiled once), not as its VALUES
    stmt = insert(street_t)
    stmt = stmt.on_conflict_do_update(
        index_elements=[street_t.c.district_code, street_t.c.code],
        set_={"name": sa.func.coalesce(stmt.excluded.name, street_t.c.name),
              "updated_at": sa.func.now()},
        where=sa.and_(stmt.excluded.name.is_not(None),
                      stmt.excluded.name.is_distinct_from(street_t.c.name)))
    session.execute(stmt, [{"district_code": district_code, "code": c, "name": n}
                           for c, n in rows])


def upsert_communities(session: Session, district_code: str,
                       rows: Sequence[tuple[str, str | None]]) -> None:
    from sqlalchemy.dialects.postgresql import insert

    if not rows:
        return
    upsert_streets(session, district_code, sorted({(c[:9], None) for c, _ in rows}))
    stmt = insert(community_t)
    stmt = stmt.on_conflict_do_update(
        index_elements=[community_t.c.district_code, community_t.c.code],
        set_={"name": sa.func.coalesce(stmt.excluded.name, community_t.c.name),
              "updated_at": sa.func.now()},
        where=sa.and_(stmt.excluded.name.is_not(None),
                      stmt.excluded.name.is_distinct_from(community_t.c.name)))
    session.execute(stmt, [{"district_code": district_code, "code": c, "street_code": c[:9],
                            "name": n} for c, n in rows])


def set_boundary(session: Session, district_code: str, level: str, code: str,
                 name: str | None, geom: shapely.Geometry, *, kind: str | None = None,
                 office: str | None = None) -> None:
    """A street's or community's own boundary; a street's kind and office are the file's (None
    when it gives none), a name given replaces the stored one."""
    from sqlalchemy.dialects.postgresql import insert

    table = street_t if level == "street" else community_t
    values: dict[str, Any] = {"district_code": district_code, "code": code, "name": name,
                              "boundary": sa.func.ST_GeomFromWKB(shapely.to_wkb(geom), 4490)}
    if level == "community":
        upsert_streets(session, district_code, [(code[:9], None)])
        values["street_code"] = code[:9]
    else:
        values.update(kind=kind, office=office)
    stmt = insert(table).values(**values)
    own = {"kind": stmt.excluded.kind, "office": stmt.excluded.office} if level == "street" \
        else {}
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.district_code, table.c.code],
        set_={"name": sa.func.coalesce(stmt.excluded.name, table.c.name),
              "boundary": stmt.excluded.boundary, "updated_at": sa.func.now(), **own})
    session.execute(stmt)


def new_import(session: Session, district_code: str, source: str, at: datetime) -> int:
    return session.execute(sa.insert(grid_import_t).values(
        district_code=district_code, source=source, at=at, report={})
        .returning(grid_import_t.c.id)).scalar_one()


def save_import_report(session: Session, district_code: str, import_id: int,
                       report: dict[str, Any]) -> None:
    session.execute(sa.update(grid_import_t).where(
        grid_import_t.c.district_code == district_code, grid_import_t.c.id == import_id)
        .values(report=report))




def _json(attrs: dict[str, Any]) -> str:
    try:
        return orjson.dumps(attrs).decode()
    except TypeError:       # an integer beyond 64 bits: json writes any
        return json.dumps(attrs, ensure_ascii=False)


def insert_grids(session: Session, district_code: str, rows: Sequence[dict[str, Any]],
                 at: datetime, import_id: int) -> None:
    """rows: code, street_code, community_code, area_m2, attrs, geom (shapely, EPSG:4490).

    COPY into a staging table as one CSV written by Arrow, then one INSERT
    (bench/grid_import.py); the staging table is temporary, so row-level security (an upload's
    role) binds only the INSERT.
    """
    if not rows:
        return
    # each column typed: pyarrow would import pandas to infer a type (gis.lazypandas)
    text = pa.string()
    table = pa.table({
        "code": pa.array([r["code"] for r in rows], text),
        "street_code": pa.array([r["street_code"] for r in rows], text),
        "community_code": pa.array([r["community_code"] for r in rows], text),
        "area_m2": pa.array([r["area_m2"] for r in rows], pa.float64()),
        # orjson: a fifth of json's time for 10,000 rows; the same JSON (UTF-8 text, and the
        # values jsonable_values gave: no NaN, no dates)
        "attrs": pa.array([_json(r["attrs"]) for r in rows], text),
        "geom": pa.array(shapely.to_wkb(np.array([r["geom"] for r in rows], dtype=object),
                                        hex=True), text)})
    buffer = io.BytesIO()
    pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=False))
    # Two imports in one transaction (a script, the tests) each get a fresh staging table.
    session.execute(sa.text("DROP TABLE IF EXISTS grid_stage"))
    session.execute(statement("grid", "stage_grids"))
    raw = session.connection().connection.driver_connection
    assert raw is not None
    with raw.cursor() as cur, cur.copy(
            f"COPY grid_stage ({', '.join(table.column_names)}) FROM STDIN (FORMAT csv)") as copy:
        copy.write(buffer.getbuffer())
    session.execute(statement("grid", "insert_grids"),
                    {"district": district_code, "at": at, "import_id": import_id})


def recompute_areas(session: Session, district_code: str, target: CRS) -> None:
    grids = current_grids(session, district_code)
    if not grids:
        return
    projected = crsmod.reproject(np.array([g.geom for g in grids], dtype=object),
                                 crsmod.STORAGE_CRS, target)
    areas = shapely.area(projected)
    session.execute(
        sa.update(grid_t).where(grid_t.c.district_code == district_code,
                                grid_t.c.code == sa.bindparam("c"),
                                grid_t.c.valid_to.is_(None))
        .values(area_m2=sa.bindparam("a")),
        [{"c": g.code, "a": float(a)} for g, a in zip(grids, areas, strict=True)])


def save_outlines(session: Session, district_code: str, level: str,
                  outlines: Mapping[str, shapely.Geometry]) -> None:
    """The outlines of a district's streets or communities (EPSG:4490, `grid.outlines`); those
    not given have no current grid, and no outline."""
    table = street_t if level == "street" else community_t
    if outlines:
        wkbs = shapely.to_wkb(np.array(list(outlines.values()), dtype=object))
        session.execute(
            sa.update(table).where(table.c.district_code == district_code,
                                   table.c.code == sa.bindparam("c"))
            .values(outline=sa.func.ST_GeomFromWKB(sa.bindparam("wkb"), 4490)),
            [{"c": code, "wkb": wkb} for code, wkb in zip(outlines, wkbs, strict=True)])
    session.execute(sa.update(table).where(
        table.c.district_code == district_code, table.c.outline.is_not(None),
        table.c.code.not_in(list(outlines))).values(outline=None))


def districts_near(session: Session, lon: float, lat: float, metres: float = 100.0) -> list[str]:
    """Districts with a current grid within `metres` of a point (for loading only those)."""
    rows = session.execute(sa.text(
        "SELECT DISTINCT district_code FROM grid WHERE valid_to IS NULL AND "
        "geom && ST_Expand(ST_SetSRID(ST_MakePoint(:lon, :lat), 4490), :deg) "
        "ORDER BY 1"), {"lon": lon, "lat": lat, "deg": metres / 90_000.0})
    return [r[0] for r in rows]


def extent(session: Session, district_code: str) -> list[float] | None:
    """[minx, miny, maxx, maxy] in EPSG:4490 of the district's current grids (None: none)."""
    box = session.execute(sa.text(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) "
        "AS e FROM grid WHERE district_code = :d AND valid_to IS NULL) x"),
        {"d": district_code}).first()
    return [float(v) for v in box] if box and box[0] is not None else None
