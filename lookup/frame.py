"""Lookups for analysts: a GeoDataFrame of points in, the same frame out with who is responsible
for each (a hotline's backlog, a field survey, in a notebook). The same answers as `POST /lookup`
(`lookup.bulk`), as columns."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from gis import crs as crsmod
from gis.errors import BadInput, CrsError
from lookup.bulk import resolve_many
from lookup.resolve import Resolver

if TYPE_CHECKING:
    import geopandas as gpd

COLUMNS = ("district", "street", "street_name", "community", "community_name", "grid",
           "component", "component_distance_m", "responsible", "basis", "ambiguous", "error")


def resolve_frame(resolver: Resolver, points: gpd.GeoDataFrame, *,
                  class_column: str | None = None, kind: str | None = None) -> gpd.GeoDataFrame:
    """`points` (any CRS it declares) with the lookup's answer in the COLUMNS added; a point
    outside every grid gets its `error` and empty answers."""
    if points.crs is None:
        raise CrsError("GeoDataFrame 没有坐标系，请先用 gdf.set_crs(...) 设置 "
                       "(the GeoDataFrame has no CRS: set one with gdf.set_crs(...) first)")
    geometry = points.geometry
    if len(geometry) and not bool((geometry.geom_type == "Point").all()):
        raise BadInput("resolve_frame 只接受点，其他形状请先化为点，如 "
                       "gdf.representative_point() (resolve_frame takes points; reduce other "
                       "shapes first, e.g. gdf.representative_point())")
    storage = geometry.to_crs(crsmod.STORAGE_CRS)
    classes = (points[class_column].astype(object).where(points[class_column].notna(), None)
               .tolist() if class_column else None)
    answer = resolve_many(resolver, np.asarray(storage.x), np.asarray(storage.y), classes, kind)
    rows = [answer.item(i) for i in range(len(answer))]

    def field(row: dict, *path: str) -> object:
        for key in path:
            row = row.get(key) if isinstance(row, dict) else None  # type: ignore[assignment]
        return row

    return points.assign(**{
        "district": [field(r, "district", "code") for r in rows],
        "street": [field(r, "street", "code") for r in rows],
        "street_name": [field(r, "street", "name") for r in rows],
        "community": [field(r, "community", "code") for r in rows],
        "community_name": [field(r, "community", "name") for r in rows],
        "grid": [field(r, "grid", "code") for r in rows],
        "component": [field(r, "component", "code") for r in rows],
        "component_distance_m": [field(r, "component", "distance_m") for r in rows],
        "responsible": [field(r, "responsible", "department") for r in rows],
        "basis": [field(r, "responsible", "basis") for r in rows],
        "ambiguous": [field(r, "ambiguous") for r in rows],
        "error": [field(r, "error", "code") for r in rows]})
