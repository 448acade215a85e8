"""Input data the benchmarks make for themselves: deterministic, cached in bench/.work/.

`grid_shapefile(layout)` writes a unit-grid shapefile the way a surveying contractor delivers one
for a legacy district: GBK text with Chinese field names (网格编码, 街道名称, 社区名称, 面积), the
DBF language id set to code page 936 and no `.cpg` (as ArcGIS writes it), CGCS2000 3-degree
Gauss-Krüger CM 120E (EPSG:4549), 14-digit CJ/T 213 grid codes. The cells are ~100 m, jittered,
and built on one shared vertex lattice (the idea of data/samples/make_samples.py), so the
topology is clean: the QA should find nothing, and an import writes every grid.

A file is made once and reused while it is there; delete bench/.work/ to make it again.
"""

from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from pyproj import Transformer

WORK = Path(__file__).resolve().parent / ".work"
# Part of every cached file's folder name: bump it when the generator changes what it writes.
GENERATOR = 1

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
    folder = WORK / layout.folder_name
    shp = folder / "单元网格.shp"
    if shp.exists():
        return shp
    WORK.mkdir(exist_ok=True)
    # Written aside and renamed into place, so an interrupted run never leaves half a file
    # that a later run would take for the cached one.
    tmp = WORK / f".{layout.folder_name}.{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    _write_gbk_shapefile(grid_frame(layout), tmp / shp.name)
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


def _name(roots: str, i: int) -> str:
    """The i-th two-character name in `roots`; past the end, a number keeps names apart."""
    n = len(roots) // 2
    base = roots[2 * (i % n): 2 * (i % n) + 2]
    return base if i < n else f"{base}{i // n + 1}"


def _write_gbk_shapefile(frame: gpd.GeoDataFrame, path: Path) -> None:
    pyogrio.write_dataframe(frame, path, encoding="GBK")
    dbf = path.with_suffix(".dbf")
    raw = bytearray(dbf.read_bytes())
    raw[1:4] = DBF_DATE
    raw[29] = LDID_CP936
    dbf.write_bytes(bytes(raw))
    path.with_suffix(".cpg").unlink(missing_ok=True)
