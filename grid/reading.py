"""Reading a grid file: its features mapped to grid fields (Chinese, CJ/T 213 or GB/T 47678
names, or the user's overrides), with their shapes in the district's CRS for QA and in the
storage CRS for import. Used by the import and by QA of a file before import."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import CRS

from gis import crs as crsmod
from gis.fields import load_specs, resolve_fields
from gis.values import text_values
from gis.vector import VectorLayer, no_features, read_vector
from grid.districts import District
from grid.qa import GridShape

GRID_FIELDS = load_specs("grid", "fields.toml")


@dataclass
class GridFile:
    """A grid file read and mapped, with its shapes in the district CRS."""

    layer: VectorLayer
    mapping: dict[str, str | None]
    shapes: list[GridShape]
    storage: np.ndarray      # geometries in EPSG:4490
    target: CRS              # the district CRS used for QA
    target_chosen: bool      # True when the district had none and we picked its GK zone


def district_crs_for(district: District, layer: VectorLayer) -> tuple[CRS, bool]:
    """The district's CRS, or the 3-degree Gauss-Krüger zone of the data when it has none."""
    existing = district.projected_crs()
    if existing is not None:
        return existing, False
    present = layer.geometry[~shapely.is_missing(layer.geometry)]
    if not len(present):
        return crsmod.gk3_crs_for_lon(120.0), True
    minx, miny, maxx, maxy = shapely.total_bounds(present)
    lon, _ = crsmod.reproject_xy(np.array([(minx + maxx) / 2]), np.array([(miny + maxy) / 2]),
                                 layer.crs, crsmod.STORAGE_CRS)
    return crsmod.gk3_crs_for_lon(float(lon[0])), True


def read_grid_file(path: str | os.PathLike[str], district: District, *, crs: str | None = None,
                   encoding: str | None = None,
                   fields: Mapping[str, str] | None = None) -> GridFile:
    layer = read_vector(path, crs=crs, encoding=encoding)
    if len(layer) == 0:
        raise no_features(layer.source)
    mapping = resolve_fields(layer.columns, GRID_FIELDS, fields)
    target, chosen = district_crs_for(district, layer)
    projected = crsmod.reproject(layer.geometry, layer.crs, target)
    storage = crsmod.reproject(layer.geometry, layer.crs, crsmod.STORAGE_CRS)

    def column(target_name: str) -> list[str | None]:
        col = mapping.get(target_name)
        if col is None:
            return [None] * len(layer)
        return text_values(layer.table.column(col))

    codes, sc, cc, sn, cn = (column(n) for n in ("code", "street_code", "community_code",
                                                 "street_name", "community_name"))
    shapes = [GridShape(code=codes[i], geom=projected[i], row=layer.fid(i), street_code=sc[i],
                        community_code=cc[i], street_name=sn[i], community_name=cn[i])
              for i in range(len(layer))]
    return GridFile(layer, mapping, shapes, storage, target, chosen)
