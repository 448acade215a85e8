"""A district's census components in the lookup index, by class, held as columns.

A city's census is millions of components, and most are points (manhole covers, lamps, bins).
Held as shapely geometries in an STRtree they cost about 800 bytes each (a Python object and a
GEOS geometry per point, a str per code and name, the tree); a province would not fit in a
server. So a class of points is kept as coordinates — a k-d tree over them for many points at
once (`lookup.bulk`), and the same coordinates bucketed into square cells (`PointCells`) for one
point, where the k-d tree's per-call cost in Python would be ten times the query — with codes
as bytes, names as indexes into the district's few distinct names, and organisation ids
as int32. Only a class with lines or polygons (roads, green spaces) keeps geometries and an
STRtree. A million components take about 260 MB with the grids (bench/lookup_bulk.py).

Rows arrive from PostgreSQL as one CSV text (`load_components`) and are split by class.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import shapely
from scipy.spatial import cKDTree
from shapely import STRtree
from sqlalchemy.orm import Session

from gis.crs import LocalFrame

try:
    from lookup import _cells
except ImportError:       # not built (setup.py; scripts/setup.sh builds it): the Python loop
    _cells = None  # type: ignore[assignment]

# Rows per vectorised call while loading. Each call holds the GIL (shapely making geometries,
# Arrow making str objects) and so keeps the event loop from answering lookups; between calls
# the GIL changes hands. 4,096 rows take a few milliseconds.
CHUNK = 4096


def chunked(convert: Callable[[Any], np.ndarray], values: Any) -> np.ndarray:
    """`convert` (elementwise, an array as long as its input) over `values` (a numpy array or
    an Arrow array or column) a CHUNK of rows at a time, concatenated."""
    if len(values) <= CHUNK:
        return convert(values)
    return np.concatenate([convert(values[i:i + CHUNK]) for i in range(0, len(values), CHUNK)])


CELL_M = 32.0           # about the default search radius: a query reads 3 × 3 cells
_COLUMN = 1 << 32       # cell key = column × _COLUMN + row; rows of one column are contiguous


class PointCells:
    """Points (local metric frame) sorted by the square cell they fall in, so that the points
    within r of one point are read from a few contiguous runs: one `searchsorted` finds the
    runs, and the few points in them are measured in Python (numpy's per-call cost would be
    most of the time for a dozen points). 28 bytes a point: cell keys, the order, and the
    coordinates again in cell order (as complex numbers: one Python object per point read)."""

    def __init__(self, xy: np.ndarray) -> None:
        cells = np.floor(xy / CELL_M).astype(np.int64)
        keys = cells[:, 0] * _COLUMN + cells[:, 1]
        self.order = np.argsort(keys, kind="stable").astype(np.int32)
        self.keys = keys[self.order]
        self.z = xy[self.order, 0] + 1j * xy[self.order, 1]
        self._probes: dict[int, np.ndarray] = {}

    def _probe(self, k: int) -> np.ndarray:
        """For 2k + 1 columns around a cell: the first key of each run and the key after it,
        relative to the cell's key."""
        probe = self._probes.get(k)
        if probe is None:
            columns = np.arange(-k, k + 1, dtype=np.int64) * _COLUMN
            probe = np.column_stack([columns - k, columns + k + 1]).ravel()
            self._probes[k] = probe
        return probe

    def within(self, x: float, y: float, radius: float) -> tuple[list[int], list[float]]:
        """(indices, distances) of the points within `radius` of (x, y), the radius included
        (as PostGIS's ST_DWithin has it); distances as GEOS computes them. Compiled
        (lookup/_cells.c, a fifth of the Python loop's time), the same as `within_py`."""
        if _cells is None:
            return self.within_py(x, y, radius)
        return _cells.within(self.keys, self.z, self.order, x, y, radius, CELL_M)

    def within_py(self, x: float, y: float, radius: float) -> tuple[list[int], list[float]]:
        """`within` in Python: where the compiled module is not built, and its reference in the
        tests."""
        k = max(1, math.ceil(radius / CELL_M))
        key = math.floor(x / CELL_M) * _COLUMN + math.floor(y / CELL_M)
        bounds = np.searchsorted(self.keys, self._probe(k) + key).tolist()
        found: list[int] = []
        dist: list[float] = []
        for a, b in zip(bounds[::2], bounds[1::2], strict=True):
            if b <= a:
                continue
            for j, z in zip(range(a, b), self.z[a:b].tolist(), strict=True):
                dx, dy = z.real - x, z.imag - y
                d = math.sqrt(dx * dx + dy * dy)
                if d <= radius:
                    found.append(int(self.order[j]))
                    dist.append(d)
        return found, dist


@dataclass
class ComponentClass:
    """The census components of one class in one district (see the module's docstring)."""

    codes: np.ndarray           # 标识码: fixed-width bytes (see `code_column`), else str objects
    name_ids: np.ndarray        # int32: 部件名称 as an index into `names` (a class repeats a few)
    names: list[str]            # "" for none
    dept: np.ndarray            # int32 organisation ids, -1 for none
    owner: np.ndarray
    maintainer: np.ndarray
    # A class of points: their coordinates (local frame) as the k-d tree holds them, for many
    # points at once, and in cells for one point. Otherwise None, and geometries and a tree.
    points: cKDTree | None = None
    cells: PointCells | None = None
    geoms: np.ndarray | None = None     # local frame
    tree: STRtree | None = None

    def __len__(self) -> int:
        return len(self.codes)

    def code(self, i: int) -> str:
        code = self.codes[i]
        return code.decode() if isinstance(code, bytes) else str(code)

    def name(self, i: int) -> str:
        return self.names[self.name_ids[i]]

    def geom(self, i: int) -> shapely.Geometry:
        """Component i's geometry in the local frame."""
        if self.points is not None:
            return shapely.Point(self.points.data[i])
        assert self.geoms is not None
        return self.geoms[i]



# The rows as one CSV text, built by PostgreSQL and fetched as one value: COPY would hand them
# over a row at a time, a Python iteration each (a third of a second of the GIL for 200,000).
# Text is quoted as CSV quotes it (in double quotes, those inside doubled). Points (most
# components) come as their coordinates, everything else as WKB: making a point from two
# numbers is a twentieth of the time of parsing its hex WKB, time the GIL is held too.
_COMPONENTS_SQL = (
    "SELECT convert_to(string_agg(concat_ws(',', "
    "'\"' || replace(class_code, '\"', '\"\"') || '\"', "
    "'\"' || replace(code, '\"', '\"\"') || '\"', "
    "'\"' || replace(coalesce(name, ''), '\"', '\"\"') || '\"', "
    "coalesce(dept_id, -1), coalesce(owner_id, -1), coalesce(maintainer_id, -1), "
    "coalesce(ST_X(point)::text, ''), coalesce(ST_Y(point)::text, ''), "
    "CASE WHEN point IS NULL THEN encode(ST_AsBinary(geom), 'hex') ELSE '' END), "
    "E'\\n' ORDER BY class_code, code), 'UTF8') "
    "FROM (SELECT *, CASE WHEN GeometryType(geom) = 'POINT' AND NOT ST_IsEmpty(geom) "
    "THEN geom END AS point FROM component "
    "WHERE district_code = {district} AND retired_at IS NULL) AS c")

_TYPES = {"class_code": pa.string(), "code": pa.string(), "name": pa.string(),
          "dept": pa.int64(), "owner": pa.int64(), "maintainer": pa.int64(),
          "x": pa.float64(), "y": pa.float64(), "wkb": pa.string()}


def load_components(session: Session, district_code: str,
                    frame: LocalFrame) -> dict[str, ComponentClass]:
    """The district's live components by class, read as one CSV text (a million rows in
    seconds)."""
    from psycopg import sql

    raw = session.connection().connection.driver_connection
    assert raw is not None
    query = sql.SQL(_COMPONENTS_SQL).format(district=sql.Literal(district_code))
    with raw.cursor(binary=True) as cur:
        row = cur.execute(query).fetchone()
    if row is None or row[0] is None:
        return {}
    table = pacsv.read_csv(io.BytesIO(row[0]),
                           read_options=pacsv.ReadOptions(column_names=list(_TYPES)),
                           convert_options=pacsv.ConvertOptions(column_types=_TYPES))
    del row
    classes = table.column("class_code").combine_chunks().dictionary_encode()
    codes = table.column("code").combine_chunks()
    names = table.column("name").combine_chunks().dictionary_encode()
    name_ids = names.indices.to_numpy()
    name_list = [n or "" for n in names.dictionary.to_pylist()]
    ids = {k: table.column(k).to_numpy().astype(np.int32)
           for k in ("dept", "owner", "maintainer")}
    x = table.column("x").to_numpy()        # NaN: not a point
    y = table.column("y").to_numpy()
    local = np.column_stack(frame.xy(x, y))
    wkb = table.column("wkb")
    out: dict[str, ComponentClass] = {}
    # rows arrive sorted by class: split at the boundaries
    which = classes.indices.to_numpy()
    starts = np.flatnonzero(np.r_[True, which[1:] != which[:-1]])
    ends = np.r_[starts[1:], len(which)]
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        part = {k: v[s:e] for k, v in ids.items()}
        cc = ComponentClass(code_column(codes.slice(s, e - s)), name_ids[s:e], name_list,
                            **part)
        xy = local[s:e]
        if not np.isnan(xy[:, 0]).any():
            cc.points = cKDTree(xy, copy_data=False)
            cc.cells = PointCells(cc.points.data)
        else:
            cc.geoms = _geoms(xy, wkb.slice(s, e - s), frame)
            cc.tree = STRtree(cc.geoms)
        out[str(classes[s].as_py())] = cc
    del table, wkb, x, y
    give_back_memory()
    return out


def give_back_memory() -> None:
    """Hand the memory a load used and freed back to the system: Arrow's allocator keeps what
    it freed for reuse, and so does the C library's; a server's resident size would otherwise
    stay at its peak while loading, twice what the index holds."""
    pa.default_memory_pool().release_unused()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):     # not glibc: its allocator decides
        pass


def code_column(codes: pa.StringArray) -> np.ndarray:
    """A class's codes as numpy bytes of one width, read in place from the Arrow column when
    they all have that width (a code standard's codes do): 16 bytes for a legacy 标识码 where a
    str object takes 65, and a code read back in a fraction of an Arrow scalar's time. Codes of
    mixed widths become str objects."""
    n = len(codes)
    offsets = np.frombuffer(codes.buffers()[1], dtype=np.int32, count=n + 1,
                            offset=codes.offset * 4)
    widths = np.diff(offsets)
    if n and codes.null_count == 0 and widths[0] > 0 and bool((widths == widths[0]).all()):
        return np.frombuffer(codes.buffers()[2], dtype=f"S{int(widths[0])}", count=n,
                             offset=int(offsets[0]))
    return chunked(lambda c: c.to_numpy(zero_copy_only=False), codes)


def _geoms(xy: np.ndarray, wkb: pa.ChunkedArray, frame: LocalFrame) -> np.ndarray:
    """A class's geometries in the local frame: points from their coordinates (the same numbers
    `frame.geoms` would compute), the rest from their WKB."""
    point = ~np.isnan(xy[:, 0])
    geoms = np.empty(len(xy), dtype=object)
    geoms[point] = chunked(shapely.points, xy[point])
    if not point.all():
        hexes = wkb.to_numpy()[~point]
        geoms[~point] = chunked(lambda c: frame.geoms(shapely.from_wkb(c)), hexes)
    return geoms
