"""Points as clients give them → longitude/latitude in the storage CRS (EPSG:4490).

Clients send degrees of EPSG:4490 or EPSG:4326 (the same to centimetres), projected coordinates
with an EPSG code, or coordinates picked on Chinese web maps (GCJ-02, BD-09: `gis.mapcoords`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gis import crs as crsmod
from gis import mapcoords
from gis.errors import BadInput

NOT_FINITE = "lon/lat：坐标须为有限数值 (lon/lat: coordinates must be finite numbers)"
GEOGRAPHIC = {"", "4326", "epsg:4326", "4490", "epsg:4490", "wgs84", "cgcs2000"}


def to_storage(lon: Any, lat: Any, crs: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Longitude/latitude in EPSG:4490 from coordinates in `crs`: an EPSG code, or gcj02/bd09
    (coordinates picked on AMap, Tencent or Baidu maps). EPSG:4326 is taken as EPSG:4490; they
    differ by centimetres."""
    x = np.atleast_1d(np.asarray(lon, dtype=float))
    y = np.atleast_1d(np.asarray(lat, dtype=float))
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise BadInput(NOT_FINITE)
    key = (crs or "").strip().lower()
    if key in mapcoords.NAMES:
        _check_degrees(x, y, crs or "")
        return mapcoords.to_wgs84(x, y, mapcoords.NAMES[key])
    if key in GEOGRAPHIC:
        _check_degrees(x, y, crs or "EPSG:4490")
        return x, y
    source = crsmod.parse_crs(crs or "")
    if source.is_geographic:
        _check_degrees(x, y, crs or "")
    with np.errstate(all="ignore"):
        lo, la = crsmod.reproject_xy(x, y, source, crsmod.STORAGE_CRS)
    lo, la = np.asarray(lo), np.asarray(la)
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(la))):
        raise BadInput(f"lon/lat：坐标 ({x[0]}, {y[0]}) 超出 {crs} 的范围 "
                       f"(lon/lat: coordinates ({x[0]}, {y[0]}) are outside the area of {crs})")
    return lo, la


def point_to_storage(lon: float, lat: float, crs: str | None) -> tuple[float, float]:
    """One point's longitude/latitude in EPSG:4490, as `to_storage` gives them, without numpy
    when the point is already in degrees of EPSG:4490/4326 (what nearly every client sends)."""
    if (crs or "").strip().lower() in GEOGRAPHIC:
        if not (math.isfinite(lon) and math.isfinite(lat)):
            raise BadInput(NOT_FINITE)
        if abs(lon) > 180 or abs(lat) > 90:
            _check_degrees(np.array([lon]), np.array([lat]), crs or "EPSG:4490")
        return lon, lat
    x, y = to_storage(lon, lat, crs)
    return float(x[0]), float(y[0])


def _check_degrees(x: np.ndarray, y: np.ndarray, crs: str) -> None:
    bad = (np.abs(x) > 180) | (np.abs(y) > 90)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise BadInput(f"lon/lat：({x[i]}, {y[i]}) 不是 {crs} 的经纬度；投影坐标须给出 "
                       f"crs=EPSG:xxxx (lon/lat: ({x[i]}, {y[i]}) is not a longitude/latitude "
                       f"in {crs})")
