"""Rejected rows as a layer a GIS clerk opens in QGIS (`rejects.gpkg`, one layer per delivered
file) and keeps on the map (`import_reject`): each with its original attributes as read, its
shape where it had one (EPSG:4490), `row` — the feature id QGIS shows for it (a shapefile's from
0, a GeoPackage's own) — the reason, its Chinese, the message, and for a duplicate the row it
clashes with."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.orm import Session

from gis import crs as crsmod
from gis.csvfile import read_csv
from gis.report import Reject, reason_zh
from gis.values import jsonable
from gis.vector import VectorLayer, read_vector
from onboarding.tables import import_reject

OURS = ("file", "row", "reason", "reason_zh", "message", "clashes_with")


@dataclass
class Rejected:
    """The rejects of one delivered file, with the rows they name as read."""

    file: str
    kind: str
    rejects: list[Reject]
    attrs: list[dict[str, Any]]
    geoms: np.ndarray                   # EPSG:4490; None where the row had no shape

    @classmethod
    def read(cls, path: Path, kind: str, rejects: Sequence[Reject], *, crs: str | None = None,
             encoding: str | None = None) -> Rejected:
        if path.suffix.lower() == ".csv":
            return cls.of_table(path, kind, rejects, encoding=encoding)
        layer = read_vector(path, crs=crs, encoding=encoding)
        return cls.of(layer, path.name, kind, rejects)

    @classmethod
    def of_table(cls, path: Path, kind: str, rejects: Sequence[Reject], *,
                 encoding: str | None = None) -> Rejected:
        """A CSV's rejects (the 权责清单): no shapes; a row is a data row, 1 under the header."""
        rows, _ = read_csv(path, encoding=encoding)
        attrs = [dict(rows[r.row - 1]) if 0 < r.row <= len(rows) else {} for r in rejects]
        return cls(path.name, kind, list(rejects), attrs,
                   np.array([None] * len(rejects), dtype=object))

    @classmethod
    def of(cls, layer: VectorLayer, file: str, kind: str, rejects: Sequence[Reject]) -> Rejected:
        position = {layer.fid(i): i for i in range(len(layer))}
        at = [position.get(r.row) for r in rejects]
        records = layer.table.to_pylist()
        storage = crsmod.reproject(layer.geometry, layer.crs, crsmod.STORAGE_CRS)
        geoms = np.array([None if i is None else storage[i] for i in at], dtype=object)
        attrs = [{} if i is None else {k: jsonable(v) for k, v in records[i].items()}
                 for i in at]
        return cls(file, kind, list(rejects), attrs, geoms)


def write_gpkg(path: Path, rejected: Sequence[Rejected]) -> int:
    """Write one layer per file with rejects (an empty `rejects` layer when there are none);
    return the number of rows written."""
    import geopandas as gpd  # with GDAL: only where a GeoPackage is written

    if path.exists():
        path.unlink()
    written = 0
    for r in rejected:
        if not r.rejects:
            continue
        frame = pd.DataFrame([{f"原_{k}" if k in OURS else k: _text(v) for k, v in a.items()}
                              for a in r.attrs])
        ours = pd.DataFrame({"file": r.file, "row": [x.row for x in r.rejects],
                             "reason": [x.reason for x in r.rejects],
                             "reason_zh": [reason_zh(x.reason) for x in r.rejects],
                             "message": [x.message for x in r.rejects],
                             "clashes_with": pd.array([x.clashes_with for x in r.rejects],
                                                      dtype="Int64")})
        gdf = gpd.GeoDataFrame(pd.concat([ours, frame], axis=1), geometry=list(r.geoms),
                               crs=crsmod.STORAGE_CRS)
        gdf.to_file(path, layer=Path(r.file).stem, driver="GPKG", engine="pyogrio")
        written += len(gdf)
    if not written:
        empty = gpd.GeoDataFrame({k: pd.Series(dtype=str) for k in OURS},
                                 geometry=gpd.GeoSeries([], crs=crsmod.STORAGE_CRS))
        empty.to_file(path, layer="rejects", driver="GPKG", engine="pyogrio",
                      geometry_type="Point")
    return written


def _text(value: Any) -> Any:
    """Codes stay text in the layer; other values as read."""
    return value if value is None or isinstance(value, str | float | bool) else str(value)


def store(session: Session, district: str, rejected: Sequence[Rejected]) -> None:
    """Keep a file's rejects for the map, replacing those of its previous import."""
    for r in rejected:
        session.execute(sa.delete(import_reject).where(
            import_reject.c.district_code == district, import_reject.c.source == r.file))
        if not r.rejects:
            continue
        ewkt = [None if g is None else f"SRID=4490;{shapely.to_wkt(g)}" for g in r.geoms]
        session.execute(sa.insert(import_reject), [
            {"district_code": district, "source": r.file, "row": x.row, "kind": r.kind,
             "code": x.code, "reason": x.reason, "reason_zh": reason_zh(x.reason),
             "message": x.message, "clashes_with": x.clashes_with, "attrs": a,
             "geom": w} for x, a, w in zip(r.rejects, r.attrs, ewkt, strict=True)])


def stored_rejects(session: Session, district: str) -> list[dict[str, Any]]:
    """The rejects kept for the map, file by file, row by row (shapes in EPSG:4490)."""
    t = import_reject
    rows = session.execute(sa.select(
        t.c.source, t.c.row, t.c.kind, t.c.code, t.c.reason, t.c.reason_zh, t.c.message,
        t.c.clashes_with, t.c.attrs, t.c.at, sa.func.ST_AsBinary(t.c.geom).label("wkb"))
        .where(t.c.district_code == district).order_by(t.c.source, t.c.row)).mappings()
    return [{**{k: v for k, v in r.items() if k != "wkb"}, "at": r["at"].isoformat(),
             "geom": None if r["wkb"] is None else shapely.from_wkb(bytes(r["wkb"]))}
            for r in rows]
