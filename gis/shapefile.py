"""Shapefile geometries read straight from the .shp, for the two layouts that census and grid
deliveries nearly always have: points, and polygons of one ring each. Anything else (holes,
several parts, Z or M values, curves, damaged records) is None here, and `gis.vector` asks GDAL
(pyogrio, which loads pandas and geopandas with it: a quarter to half a second of a command's
start).

Both give what GDAL gives for the same file (tests/test_vector.py holds them to it): a point's
x and y; a one-part polygon as a Polygon of that ring, in the file's order; an empty (null)
record as None.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely

POINT, POLYGON, NULL = 1, 5, 0
_POINT = np.dtype([("number", ">i4"), ("words", ">i4"), ("type", "<i4"), ("x", "<f8"),
                   ("y", "<f8")])
_POINT_Z = np.dtype([("number", ">i4"), ("words", ">i4"), ("type", "<i4"), ("x", "<f8"),
                     ("y", "<f8"), ("z", "<f8"), ("m", "<f8")])
# a Polygon record's content before its points: type, bounding box, parts, points, parts[0]
_POLYGON_HEAD = 4 + 32 + 4 + 4 + 4


def _shape_type(data: np.ndarray) -> int | None:
    if len(data) < 100:
        return None
    return int(data[32:36].view("<i4")[0])


def point_records(shp: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """x and y of a Point or PointZ shapefile whose records are all points with finite
    coordinates, read as the fixed-size records they are (a census is mostly that); None for
    anything else."""
    data = np.fromfile(shp, dtype=np.uint8)
    shape_type = _shape_type(data)
    layout = {1: _POINT, 11: _POINT_Z}.get(shape_type or 0)
    if layout is None or (len(data) - 100) % layout.itemsize:
        return None
    records = np.frombuffer(data[100:].tobytes(), dtype=layout)
    if len(records) and ((records["type"] != shape_type).any()
                         or (records["words"] != (layout.itemsize - 8) // 2).any()):
        return None                                  # null shapes, or records of other sizes
    x, y = records["x"].astype(np.float64), records["y"].astype(np.float64)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        return None
    return x, y


def polygon_records(shp: Path, shx: Path) -> np.ndarray | None:
    """The polygons of a Polygon shapefile whose every record is one closed ring of four
    points or more with finite coordinates, or empty (a unit-grid file is that), found through
    the .shx as GDAL finds them; shapely Polygons (None for an empty record). None for any
    other file."""
    data = np.fromfile(shp, dtype=np.uint8)
    index = np.fromfile(shx, dtype=np.uint8)
    if _shape_type(data) != POLYGON or len(index) < 100 or (len(index) - 100) % 8:
        return None
    entries = index[100:].view(">i4").reshape(-1, 2).astype(np.int64) * 2   # 16-bit words
    start, length = entries[:, 0] + 8, entries[:, 1]        # each record's content, in bytes
    if len(start) == 0:
        return np.empty(0, dtype=object)
    if (start < 108).any() or (start + length > len(data)).any() or (length < 4).any():
        return None
    kind = _int32(data, start)
    null = kind == NULL
    shaped = ~null
    if not ((kind[shaped] == POLYGON).all() and (length[null] == 4).all()
            and (length[shaped] >= _POLYGON_HEAD).all()):
        return None
    out = np.full(len(start), None, dtype=object)
    if not shaped.any():
        return out
    at = start[shaped]
    parts, count, first = _int32(data, at + 36), _int32(data, at + 40), _int32(data, at + 44)
    if ((parts != 1).any() or (first != 0).any() or (count < 4).any()
            or (length[shaped] != _POLYGON_HEAD + 16 * count).any()):
        return None
    coords = _points(data, at + _POLYGON_HEAD, count)
    ends = np.cumsum(count)
    begins = ends - count
    if not (np.isfinite(coords).all() and (coords[begins] == coords[ends - 1]).all()):
        return None                                   # unclosed rings: GDAL would close them
    polygons = shapely.from_ragged_array(
        shapely.GeometryType.POLYGON, coords,
        (np.concatenate([[0], ends]), np.arange(len(count) + 1)))
    out[shaped] = polygons
    return out


def _int32(data: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The little-endian int32 at each byte offset of `at` (offsets need not be aligned)."""
    return data[at[:, None] + np.arange(4)].view("<i4").ravel()


def _points(data: np.ndarray, at: np.ndarray, count: np.ndarray) -> np.ndarray:
    """`count[i]` x, y pairs of doubles from byte offset `at[i]`, one (n, 2) array."""
    raw = data.data
    pairs = zip(at.tolist(), count.tolist(), strict=True)
    return np.concatenate([np.frombuffer(raw, "<f8", count=2 * n, offset=a)
                           for a, n in pairs]).reshape(-1, 2)
