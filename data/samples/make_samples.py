"""Make the sample city: two counties of 宣城市 as a surveying contractor would deliver them.

    341802 宣州区  legacy scheme (CJ/T 213 14-digit grid codes)
    341881 宁国市  GB/T 47678 scheme (15-character grid codes)

GBK shapefiles in CGCS2000 3-degree Gauss-Krüger CM 120E (EPSG:4549) with Chinese field names
and ESRI-style .prj files. The two counties declare their encoding differently, as real
deliveries do: 宣州区 the ArcGIS way (DBF language id 0x4D, no .cpg), 宁国市 with a .cpg.
宁国市 also delivers its community boundaries.

Deterministic: the same files every run (the DBF header's date is pinned too).
Run: .venv/bin/python data/samples/make_samples.py [OUTPUT_FOLDER]
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from pyproj import Transformer
from shapely.geometry import Polygon

HERE = Path(__file__).parent
CRS = "EPSG:4549"
CELL = 100.0          # nominal grid cell, metres (the 万米 unit grid)
JITTER = 14.0         # metres of irregularity at each shared vertex
DBF_DATE = bytes([126, 11, 1])  # 2026-11-01, pinned in every DBF header


@dataclass(frozen=True)
class County:
    code: str
    name: str
    folder: str
    scheme: str
    centre: tuple[float, float]   # lon, lat
    streets: tuple[tuple[str, tuple[str, ...]], ...]
    block: tuple[int, int]        # cells per community: columns, rows
    seed: int


XUANZHOU = County(
    code="341802", name="宣州区", folder="341802_xuanzhou", scheme="legacy",
    centre=(118.7585, 30.9420),
    streets=(("澄江街道", ("府山社区", "梅园社区", "状元社区")),
             ("鳌峰街道", ("陵阳社区", "鳌峰社区", "叠嶂社区")),
             ("济川街道", ("济川社区", "响山社区", "宛陵社区"))),
    block=(6, 5), seed=341802)

NINGGUO = County(
    code="341881", name="宁国市", folder="341881_ningguo", scheme="gb47678",
    centre=(118.9830, 30.6330),
    streets=(("西津街道", ("津北社区", "宜堃社区", "东城社区")),
             ("河沥溪街道", ("河沥社区", "港口社区", "沙埠社区")),
             ("南山街道", ("南山社区", "竹峰社区", "凤形社区"))),
    block=(5, 5), seed=341881)


def lattice(county: County) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Jittered vertex lattice (x, y in EPSG:4549) shared by neighbouring cells."""
    cols = county.block[0] * len(county.streets)
    rows = county.block[1] * len(county.streets[0][1])
    to_gk = Transformer.from_crs("EPSG:4490", CRS, always_xy=True)
    x0, y0 = to_gk.transform(*county.centre)
    rng = np.random.default_rng(county.seed)
    # Streets and avenues make some columns and rows wider than others.
    widths = CELL * rng.uniform(0.85, 1.15, cols)
    heights = CELL * rng.uniform(0.85, 1.15, rows)
    xs = x0 - widths.sum() / 2 + np.concatenate([[0], np.cumsum(widths)])
    ys = y0 + heights.sum() / 2 - np.concatenate([[0], np.cumsum(heights)])  # north to south
    gx, gy = np.meshgrid(xs, ys)
    jx = rng.uniform(-JITTER, JITTER, gx.shape)
    jy = rng.uniform(-JITTER, JITTER, gy.shape)
    # The outer boundary stays straight: it is the edge of the built-up area.
    jx[:, 0] = jx[:, -1] = 0
    jy[0, :] = jy[-1, :] = 0
    return np.round(gx + jx, 3), np.round(gy + jy, 3), cols, rows


def grids(county: County) -> gpd.GeoDataFrame:
    gx, gy, _, _ = lattice(county)
    bw, bh = county.block
    seq_digits = 2 if county.scheme == "legacy" else 3
    records = []
    for s, (street, communities) in enumerate(county.streets):
        street_code = f"{county.code}{s + 1:03d}"
        for c, community in enumerate(communities):
            community_code = f"{street_code}{c + 1:03d}"
            seq = 0
            # Sequence numbers run west to east, north to south within a community (CJ/T 213).
            for r in range(c * bh, (c + 1) * bh):
                for q in range(s * bw, (s + 1) * bw):
                    seq += 1
                    ring = [(gx[r, q], gy[r, q]), (gx[r, q + 1], gy[r, q + 1]),
                            (gx[r + 1, q + 1], gy[r + 1, q + 1]), (gx[r + 1, q], gy[r + 1, q])]
                    records.append({
                        "code": f"{community_code}{seq:0{seq_digits}d}",
                        "street_code": street_code, "street": street,
                        "community_code": community_code, "community": community,
                        "geometry": Polygon(ring)})
    frame = gpd.GeoDataFrame(records, crs=CRS)
    frame["area"] = np.round(shapely.area(frame.geometry.to_numpy()), 2)
    return frame


def write_shapefile(frame: gpd.GeoDataFrame, path: Path, *, cpg: bool) -> None:
    for old in path.parent.glob(f"{path.stem}.*"):
        old.unlink()
    pyogrio.write_dataframe(frame, path, encoding="GBK")
    dbf = path.with_suffix(".dbf")
    raw = bytearray(dbf.read_bytes())
    raw[1:4] = DBF_DATE
    if not cpg:
        raw[29] = 0x4D  # language driver id: code page 936 (GBK), as ArcGIS writes it
        path.with_suffix(".cpg").unlink()
    dbf.write_bytes(bytes(raw))


def make_county(county: County, out: Path) -> None:
    folder = out / county.folder
    folder.mkdir(exist_ok=True)
    g = grids(county)
    if county.scheme == "legacy":
        out = gpd.GeoDataFrame({
            "网格编码": g["code"], "街道名称": g["street"], "社区名称": g["community"],
            "面积": g["area"], "geometry": g.geometry}, crs=CRS)
        write_shapefile(out, folder / "单元网格.shp", cpg=False)
    else:
        out = gpd.GeoDataFrame({
            "网格标识码": g["code"], "街道代码": g["street_code"], "街道名称": g["street"],
            "社区代码": g["community_code"], "社区名称": g["community"], "面积": g["area"],
            "geometry": g.geometry}, crs=CRS)
        write_shapefile(out, folder / "单元网格.shp", cpg=True)
        comm = g.dissolve(by="community_code", as_index=False, aggfunc="first")
        boundaries = gpd.GeoDataFrame({
            "社区代码": comm["community_code"], "社区名称": comm["community"],
            "geometry": comm.geometry}, crs=CRS)
        write_shapefile(boundaries, folder / "社区边界.shp", cpg=True)


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    for county in (XUANZHOU, NINGGUO):
        make_county(county, out)
    shutil.rmtree(HERE / "__pycache__", ignore_errors=True)


if __name__ == "__main__":
    main()
