"""Input data the benchmarks make for themselves: deterministic, cached in bench/.work/.

`grid_shapefile(layout)` writes a unit-grid shapefile the way a surveying contractor delivers one
for a legacy district: GBK text with Chinese field names (网格编码, 街道名称, 社区名称, 面积), the
DBF language id set to code page 936 and no `.cpg` (as ArcGIS writes it), CGCS2000 3-degree
Gauss-Krüger CM 120E (EPSG:4549), 14-digit CJ/T 213 grid codes. The cells are ~100 m, jittered,
and built on one shared vertex lattice (the idea of data/samples/make_samples.py), so the
topology is clean: the QA should find nothing, and an import writes every grid.

`census_shapefile(layout, components)` writes a component census of the same district and
grid layout the way a contractor delivers a legacy (CJ/T 214) census: point components
(井盖, 路灯, 垃圾箱, 行道树 …) with 16-digit 标识码 (district 6 + class 4 + serial 6),
the Chinese field names of the sample city (标识码, 部件名称, 主管部门, 权属单位,
养护单位, 所在网格, 状态, 初始日期, 变更日期, 数据来源, 备注), DBF Date fields for
the two dates (written through Arrow), GBK text with the language id set and no `.cpg`,
EPSG:4549. Every point lies well inside a grid cell (never within metres of an edge) and its
所在网格 names that cell, so every row is importable and lands where the file says.

A file is made once and reused while it is there; delete bench/.work/ to make it again.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyogrio
import shapely
from pyproj import Transformer

WORK = Path(__file__).resolve().parent / ".work"
# Part of every cached file's folder name: bump it when the generator changes what it writes.
GENERATOR = 1
CENSUS_GENERATOR = 1

CRS = "EPSG:4549"
CENTRE = (118.7585, 30.9420)   # lon, lat: 宣州区, well inside the zone of CM 120E
CELL = 100.0                   # nominal cell, metres (the 万米 unit grid)
JITTER = 14.0                  # metres of irregularity at each shared vertex
DBF_DATE = bytes([126, 11, 1])  # 2026-11-01: pinned in the DBF header so files are identical
LDID_CP936 = 0x4D              # DBF language driver id of code page 936 (GBK)

# Place names, two characters each.
STREET_ROOTS = "澄江鳌峰济川敬亭水阳昭亭双桥飞彩向阳宛陵"
# 堃, 镕 and 喆 are GBK but not GB2312: a reader that decodes GB2312 strictly fails on them.
COMMUNITY_ROOTS = ("府山梅园状元陵阳叠嶂响山宜堃镕城喆园东门"
                   "西林南湖北坛中和新河安康华阳兴隆福寿永乐")


@dataclass(frozen=True)
class GridLayout:
    """Streets side by side west to east, each with its communities stacked north to south,
    each community a block of cells numbered west to east, north to south (CJ/T 213)."""

    district: str = "341802"
    streets: int = 10
    communities: int = 20            # per street
    block: tuple[int, int] = (10, 5)  # cells per community: columns, rows
    seed: int = 341802

    def __post_init__(self) -> None:
        per_community = self.block[0] * self.block[1]
        # The legacy 14-digit code leaves 2 digits for the sequence, 3 each for the others.
        if per_community > 99 or self.communities > 999 or self.streets > 999:
            raise ValueError(f"{self} does not fit 14-digit grid codes")

    @property
    def grids(self) -> int:
        return self.streets * self.communities * self.block[0] * self.block[1]

    @classmethod
    def scaled(cls, scale: float) -> GridLayout:
        """About 10,000 × scale grids, in a roughly square district of 50-grid communities.

        Columns are streets × 10 and rows communities × 5, so twice as many communities per
        street as streets keeps the lattice square.
        """
        communities = max(1, round(200 * scale))
        streets = max(1, round(math.sqrt(communities / 2)))
        return cls(streets=streets, communities=max(1, round(communities / streets)))

    @property
    def folder_name(self) -> str:
        bw, bh = self.block
        return (f"grids-v{GENERATOR}-{self.district}-{self.streets}x{self.communities}x{bw}x{bh}"
                f"-{self.seed}")


def grid_shapefile(layout: GridLayout) -> Path:
    """The layout's grid shapefile, made now when it is not in bench/.work/ yet."""
    return _cached(layout.folder_name, "单元网格.shp",
                   lambda shp: _write_gbk_shapefile(grid_frame(layout), shp))


def _cached(folder_name: str, file_name: str, write: Callable[[Path], None]) -> Path:
    """bench/.work/FOLDER/FILE, written by `write` when it is not there yet."""
    folder = WORK / folder_name
    shp = folder / file_name
    if shp.exists():
        return shp
    WORK.mkdir(exist_ok=True)
    # Written aside and renamed into place, so an interrupted run never leaves half a file
    # that a later run would take for the cached one.
    tmp = WORK / f".{folder_name}.{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    write(tmp / file_name)
    try:
        tmp.rename(folder)
    except OSError:
        shutil.rmtree(tmp)  # another run made it meanwhile; theirs is the same file
    return shp


def lattice(layout: GridLayout) -> tuple[np.ndarray, np.ndarray]:
    """Jittered vertex lattice (x, y in EPSG:4549), rows north to south, shared by neighbours."""
    cols = layout.streets * layout.block[0]
    rows = layout.communities * layout.block[1]
    x0, y0 = Transformer.from_crs("EPSG:4490", CRS, always_xy=True).transform(*CENTRE)
    rng = np.random.default_rng(layout.seed)
    # Streets and avenues make some columns and rows wider than others.
    widths = CELL * rng.uniform(0.85, 1.15, cols)
    heights = CELL * rng.uniform(0.85, 1.15, rows)
    xs = x0 - widths.sum() / 2 + np.concatenate([[0], np.cumsum(widths)])
    ys = y0 + heights.sum() / 2 - np.concatenate([[0], np.cumsum(heights)])
    gx, gy = np.meshgrid(xs, ys)
    jx = rng.uniform(-JITTER, JITTER, gx.shape)
    jy = rng.uniform(-JITTER, JITTER, gy.shape)
    # The outer boundary stays straight: it is the edge of the built-up area.
    jx[:, 0] = jx[:, -1] = 0
    jy[0, :] = jy[-1, :] = 0
    return np.round(gx + jx, 3), np.round(gy + jy, 3)


def grid_frame(layout: GridLayout) -> gpd.GeoDataFrame:
    """The grids as they go into the file: one row per cell, ordered by code."""
    gx, gy = lattice(layout)
    bw, bh = layout.block
    codes: list[str] = []
    streets: list[str] = []
    communities: list[str] = []
    cells: list[tuple[int, int]] = []   # (row, column) of each grid's north-west vertex
    for s in range(layout.streets):
        street_code = f"{layout.district}{s + 1:03d}"
        street = f"{_name(STREET_ROOTS, s)}街道"
        for c in range(layout.communities):
            community_code = f"{street_code}{c + 1:03d}"
            community = f"{_name(COMMUNITY_ROOTS, c)}社区"
            seq = 0
            for r in range(c * bh, (c + 1) * bh):
                for q in range(s * bw, (s + 1) * bw):
                    seq += 1
                    codes.append(f"{community_code}{seq:02d}")
                    streets.append(street)
                    communities.append(community)
                    cells.append((r, q))
    row, col = np.array(cells).T
    # Corners clockwise from the north-west; every corner is a lattice vertex its neighbours share.
    corners = [(row, col), (row, col + 1), (row + 1, col + 1), (row + 1, col), (row, col)]
    ring = np.stack([np.stack([gx[i, j], gy[i, j]], axis=-1) for i, j in corners], axis=1)
    geoms = shapely.polygons(ring)
    return gpd.GeoDataFrame({"网格编码": codes, "街道名称": streets, "社区名称": communities,
                             "面积": np.round(shapely.area(geoms), 2)},
                            geometry=geoms, crs=CRS)


# -- component census ---------------------------------------------------------------------------

# Organisations of 宣州区 (those of the sample city, plus contractors). 镕 is GBK, not GB2312.
ORG = {
    "住建": "宣城市宣州区住房和城乡建设局",
    "城管": "宣城市宣州区城市管理局",
    "供水": "宣城市供水有限公司",
    "供电": "国网安徽省电力有限公司宣城供电公司",
    "燃气": "宣城港华燃气有限公司",
    "市政": "宣州区市政设施管理处",
    "排水": "宣城市排水有限公司",
    "路灯": "宣城市镕晟路灯工程有限公司",
    "环卫": "宣州区环境卫生管理所",
    "保洁": "宣城市城乡环卫服务有限公司",
    "园林": "宣州区园林绿化管理所",
    "绿化": "宣城市绿源园林工程有限公司",
}


@dataclass(frozen=True)
class CensusClass:
    """A legacy (CJ/T 214) point class of the census, with who answers for its components."""

    code: str                           # 4 digits, in census/catalog/classes.csv (legacy)
    name: str                           # its catalog name, the usual 部件名称
    dept: str                           # 主管部门 (ORG key)
    owner: str                          # 权属单位
    maintainers: tuple[str, ...]        # 养护单位: the owner, or contractors sharing the work
    share: float                        # part of the census (city-wide proportions)


CENSUS_CLASSES = (
    CensusClass("0101", "上水井盖", "住建", "供水", ("供水",), 0.12),
    CensusClass("0102", "污水井盖", "住建", "市政", ("市政", "排水"), 0.11),
    CensusClass("0103", "雨水井盖", "住建", "市政", ("市政", "排水"), 0.11),
    CensusClass("0105", "电力井盖", "住建", "供电", ("供电",), 0.05),
    CensusClass("0111", "燃气井盖", "住建", "燃气", ("燃气",), 0.04),
    CensusClass("0118", "路灯", "城管", "市政", ("市政", "路灯"), 0.18),
    CensusClass("0305", "垃圾箱", "城管", "环卫", ("环卫", "保洁"), 0.16),
    CensusClass("0402", "行道树", "城管", "园林", ("园林", "绿化"), 0.23),
)
STATUSES = (("完好", 0.90), ("破损", 0.07), ("丢失", 0.03))
SOURCES = (("实测", 0.95), ("地形图", 0.05))
NOTES = ((None, 0.95), ("新增", 0.04), ("补测", 0.01))
SURVEY_START = dt.date(2024, 3, 1)   # 初始日期: the survey's 200 days from here
EDGE_MARGIN = 0.15                   # points keep this fraction of their cell away from its edges


def census_shapefile(layout: GridLayout, components: int) -> Path:
    """A census of `components` points in the layout's grids, made now when it is not in
    bench/.work/ yet."""
    name = f"census-v{CENSUS_GENERATOR}-{layout.folder_name}-{components}"
    return _cached(name, "部件普查.shp",
                   lambda shp: _write_gbk_shapefile(census_frame(layout, components), shp,
                                                    arrow=True))


def resurvey_shapefile(layout: GridLayout, components: int, keep: float) -> Path:
    """A re-survey of `census_shapefile(layout, components)`: the same file without a random
    (1 - keep) of its components (those the surveyors no longer found), the rest unchanged."""
    name = f"census-v{CENSUS_GENERATOR}-{layout.folder_name}-{components}-keep{keep:g}"

    def write(shp: Path) -> None:
        frame = census_frame(layout, components)
        kept = np.random.default_rng(layout.seed + 95).random(len(frame)) < keep
        _write_gbk_shapefile(frame[kept].reset_index(drop=True), shp, arrow=True)

    return _cached(name, "部件普查.shp", write)


def census_frame(layout: GridLayout, components: int) -> gpd.GeoDataFrame:
    """The census as it goes into the file, ordered by 标识码.

    Each component lies in a random cell; serials are given in survey order, class by class
    and grid by grid (in grid-code order), as a surveyor numbers what they walk past.
    """
    n = components
    rng = np.random.default_rng(layout.seed + 214)
    gx, gy = lattice(layout)
    rows, cols = gx.shape[0] - 1, gx.shape[1] - 1
    cell_codes = _cell_codes(layout)                       # by cell index row * cols + column
    code_rank = np.argsort(np.argsort(cell_codes, kind="stable"), kind="stable")

    shares = np.array([c.share for c in CENSUS_CLASSES])
    kind = rng.choice(len(CENSUS_CLASSES), n, p=shares / shares.sum())
    cell = rng.integers(0, rows * cols, n)
    order = np.lexsort((rng.random(n), code_rank[cell], kind))
    kind, cell = kind[order], cell[order]
    starts = np.searchsorted(kind, np.arange(len(CENSUS_CLASSES)))
    serial = np.arange(n) - starts[kind] + 1
    if n and serial.max() > 999_999:
        raise ValueError(f"{n:,} components overflow the 6-digit serial of a class")

    # A point inside the cell's quadrilateral, through its bilinear map: u west → east,
    # v north → south, both kept EDGE_MARGIN away from 0 and 1, so ≥ ~10 m from every edge.
    r, q = np.divmod(cell, cols)
    u = rng.uniform(EDGE_MARGIN, 1 - EDGE_MARGIN, n)
    v = rng.uniform(EDGE_MARGIN, 1 - EDGE_MARGIN, n)

    def blend(g: np.ndarray) -> np.ndarray:
        return np.round((1 - u) * (1 - v) * g[r, q] + u * (1 - v) * g[r, q + 1]
                        + u * v * g[r + 1, q + 1] + (1 - u) * v * g[r + 1, q], 3)

    classes = np.array([c.code for c in CENSUS_CLASSES], dtype=object)
    codes = [f"{layout.district}{c}{s:06d}" for c, s in zip(classes[kind], serial.tolist(),
                                                                 strict=True)]
    maintainer = np.empty(n, dtype=object)
    for k, c in enumerate(CENSUS_CLASSES):
        mine = kind == k
        maintainer[mine] = np.array([ORG[m] for m in c.maintainers],
                                    dtype=object)[rng.integers(0, len(c.maintainers),
                                                               int(mine.sum()))]
    initial = rng.integers(0, 200, n)
    changed = initial + rng.integers(300, 700, n)
    epoch = (SURVEY_START - dt.date(1970, 1, 1)).days
    return gpd.GeoDataFrame({
        "标识码": codes,
        "部件名称": _pick_per_kind(kind, [c.name for c in CENSUS_CLASSES]),
        "主管部门": _pick_per_kind(kind, [ORG[c.dept] for c in CENSUS_CLASSES]),
        "权属单位": _pick_per_kind(kind, [ORG[c.owner] for c in CENSUS_CLASSES]),
        "养护单位": maintainer,
        "所在网格": cell_codes[cell],
        "状态": _draw(rng, STATUSES, n),
        # Arrow date columns: DBF Date fields. 变更日期 only where a component changed since.
        "初始日期": _date_column(epoch + initial, np.zeros(n, dtype=bool)),
        "变更日期": _date_column(epoch + changed, rng.random(n) >= 0.25),
        "数据来源": _draw(rng, SOURCES, n),
        "备注": _draw(rng, NOTES, n),
    }, geometry=shapely.points(blend(gx), blend(gy)), crs=CRS)


def _cell_codes(layout: GridLayout) -> np.ndarray:
    """The grid code of every cell, by cell index (row * columns + column), as grid_frame
    numbers them."""
    bw, bh = layout.block
    rows, cols = layout.communities * bh, layout.streets * bw
    r, q = np.divmod(np.arange(rows * cols), cols)
    street, community = q // bw, r // bh
    seq = (r % bh) * bw + q % bw + 1
    return np.array([f"{layout.district}{s + 1:03d}{c + 1:03d}{k:02d}" for s, c, k in
                     zip(street.tolist(), community.tolist(), seq.tolist(), strict=True)],
                    dtype=object)


def _pick_per_kind(kind: np.ndarray, values: list[str]) -> np.ndarray:
    return np.array(values, dtype=object)[kind]


def _draw(rng: np.random.Generator, choices: tuple[tuple[str | None, float], ...],
          n: int) -> np.ndarray:
    values = np.array([v for v, _ in choices], dtype=object)
    p = np.array([w for _, w in choices])
    return values[rng.choice(len(values), n, p=p / p.sum())]


def _date_column(days: np.ndarray, missing: np.ndarray) -> pd.arrays.ArrowExtensionArray:
    return pd.arrays.ArrowExtensionArray(pa.array(days.astype(np.int32), pa.date32(),
                                                  mask=missing))


def _name(roots: str, i: int) -> str:
    """The i-th two-character name in `roots`; past the end, a number keeps names apart."""
    n = len(roots) // 2
    base = roots[2 * (i % n): 2 * (i % n) + 2]
    return base if i < n else f"{base}{i // n + 1}"


def _write_gbk_shapefile(frame: gpd.GeoDataFrame, path: Path, *, arrow: bool = False) -> None:
    """Write GBK with the DBF language id of code page 936 and no `.cpg`, as ArcGIS does.

    `arrow`: write through Arrow, so date columns become DBF Date fields (without it they are
    written as text), with each text field as wide as its longest value (not 80 bytes).
    """
    if arrow:
        _write_arrow(frame, path)
    else:
        pyogrio.write_dataframe(frame, path, encoding="GBK")
    dbf = path.with_suffix(".dbf")
    raw = bytearray(dbf.read_bytes())
    raw[1:4] = DBF_DATE
    raw[29] = LDID_CP936
    dbf.write_bytes(bytes(raw))
    path.with_suffix(".cpg").unlink(missing_ok=True)


def _write_arrow(frame: gpd.GeoDataFrame, path: Path) -> None:
    """pyogrio.write_arrow of the frame, telling GDAL each text field's width in GBK bytes
    (what the shapefile driver's RESIZE=YES finds too, at a fraction of its time)."""
    geometry = frame.geometry
    kinds = geometry.geom_type.unique()
    if len(kinds) != 1:
        raise ValueError(f"one geometry type per shapefile, not {', '.join(map(str, kinds))}")
    fields: list[pa.Field] = []
    arrays: list[pa.Array] = []
    for name in frame.columns:
        if name == geometry.name:
            continue
        values = pa.array(frame[name])
        metadata = None
        if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
            width = max((len(v.encode("gbk")) for v in pc.unique(values).to_pylist() if v),
                        default=1)
            metadata = {"GDAL:OGR:width": str(width)}
        fields.append(pa.field(name, values.type, metadata=metadata))
        arrays.append(values)
    fields.append(pa.field("geometry", pa.binary(),
                           metadata={"ARROW:extension:name": "geoarrow.wkb"}))
    arrays.append(pa.array(shapely.to_wkb(geometry.to_numpy()), pa.binary()))
    pyogrio.write_arrow(pa.Table.from_arrays(arrays, schema=pa.schema(fields)), path,
                        geometry_name="geometry", geometry_type=str(kinds[0]),
                        crs=frame.crs.to_wkt(), encoding="GBK")


# -- lookup points ------------------------------------------------------------------------------


def lookup_points(layout: GridLayout, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`n` points where cases are reported: each in a random grid cell of the layout, anywhere
    in it (edges included, so some fall within a metre of a neighbour, as real reports do), as
    longitude/latitude in EPSG:4490 (what a client sends to /lookup).

    Deterministic for a layout, `n` and `seed`; cheap enough (about a second per million) not
    to be cached.
    """
    rng = np.random.default_rng(layout.seed + 12345 + seed)
    gx, gy = lattice(layout)
    rows, cols = gx.shape[0] - 1, gx.shape[1] - 1
    r = rng.integers(0, rows, n)
    q = rng.integers(0, cols, n)
    u = rng.random(n)
    v = rng.random(n)

    def blend(g: np.ndarray) -> np.ndarray:
        return ((1 - u) * (1 - v) * g[r, q] + u * (1 - v) * g[r, q + 1]
                + u * v * g[r + 1, q + 1] + (1 - u) * v * g[r + 1, q])

    lon, lat = Transformer.from_crs(CRS, "EPSG:4490", always_xy=True).transform(blend(gx),
                                                                                 blend(gy))
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
