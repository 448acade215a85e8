"""Make the sample city: two counties of 宣城市 as a surveying contractor would deliver them.

    341802 宣州区  legacy scheme (CJ/T 213 14-digit grid codes)
    341881 宁国市  GB/T 47678 scheme (15-character grid codes)

GBK shapefiles in CGCS2000 3-degree Gauss-Krüger CM 120E (EPSG:4549) with ESRI-style .prj
files: unit grids (Chinese field names) and the component census in each naming family real
deliveries use — Chinese, CJ/T 214 English, GB/T 47678 abbreviations and pinyin abbreviations —
with points, lines (交通护栏) and polygons (绿地). The two counties declare their encoding
differently, as real deliveries do: 宣州区 the ArcGIS way (DBF language id 0x4D, no .cpg),
宁国市 with a .cpg. 宁国市 also delivers its community boundaries.

Deterministic: the same files every run (the DBF header's date is pinned too).
Run: .venv/bin/python data/samples/make_samples.py [OUTPUT_FOLDER]
"""

from __future__ import annotations

import datetime as dt
import glob
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
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


def write_shapefile(frame: gpd.GeoDataFrame, path: Path, *, cpg: bool,
                    dates: bool = False) -> None:
    for old in path.parent.glob(f"{glob.escape(path.stem)}.*"):
        old.unlink()
    if dates:
        # Through Arrow, date columns become DBF Date fields (otherwise they are written as text).
        for col in frame.columns:
            if col != "geometry" and frame[col].map(lambda v: isinstance(v, dt.date)).any():
                frame = frame.assign(**{col: pd.to_datetime(frame[col]).dt.date})
        pyogrio.write_dataframe(frame, path, encoding="GBK", use_arrow=True)
    else:
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
    write_census(county, folder)
    write_rules(county, folder)


# -- component census ---------------------------------------------------------------------------

# (name, 18-character 统一社会信用代码 stem; the check character is computed). Synthetic codes.
ORGS = {
    "341802": {
        "住建": ("宣城市宣州区住房和城乡建设局", "11341802MB0000001"),
        "城管": ("宣城市宣州区城市管理局", "11341802MB0000002"),
        "供水": ("宣城市供水有限公司", "91341800MA0000003"),
        "供电": ("国网安徽省电力有限公司宣城供电公司", "91341800MA0000004"),
        "燃气": ("宣城港华燃气有限公司", "91341800MA0000005"),
        "市政": ("宣州区市政设施管理处", "12341802MB0000006"),
        "环卫": ("宣州区环境卫生管理所", "12341802MB0000007"),
        "园林": ("宣州区园林绿化管理所", "12341802MB0000008"),
        "交警": ("宣城市公安局交通警察支队", "11341800MB0000009"),
        "通信": ("中国电信股份有限公司宣城分公司", "91341800MA000001A"),
    },
    "341881": {
        "住建": ("宁国市住房和城乡建设局", "11341881MB0000011"),
        "城管": ("宁国市城市管理局", "11341881MB0000012"),
        "供水": ("宁国市自来水有限公司", "91341881MA0000013"),
        "供电": ("国网宁国市供电公司", "91341881MA0000014"),
        "燃气": ("宁国市燃气有限公司", "91341881MA0000015"),
        "市政": ("宁国市市政工程管理处", "12341881MB0000016"),
        "环卫": ("宁国市环境卫生管理处", "12341881MB0000017"),
        "园林": ("宁国市园林管理处", "12341881MB0000018"),
        "交警": ("宁国市公安局交通警察大队", "11341881MB0000019"),
        "通信": ("中国移动通信集团安徽有限公司宁国分公司", "91341881MA000001B"),
    },
}
_USCC = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code(stem: str) -> str:
    total = sum(_USCC.index(c) * w for c, w in zip(stem, _WEIGHTS, strict=True))
    return stem + _USCC[(31 - total % 31) % 31]


# class, name, 主管部门, 权属单位, 养护单位 (by organisation key), how many
POINT_CLASSES = {
    "legacy": [
        ("0101", "上水井盖", "住建", "供水", "供水", 260),
        ("0102", "污水井盖", "住建", "市政", "市政", 240),
        ("0103", "雨水井盖", "住建", "市政", "市政", 240),
        ("0105", "电力井盖", "住建", "供电", "供电", 120),
        ("0107", "通讯井盖", "住建", "通信", "通信", 90),
        ("0111", "燃气井盖", "住建", "燃气", "燃气", 80),
        ("0113", "消防设施", "住建", "供水", "供水", 60),
        ("0118", "路灯", "城管", "市政", "市政", 420),
        ("0305", "垃圾箱", "城管", "环卫", "环卫", 360),
        ("0402", "行道树", "城管", "园林", "园林", 520),
        ("0210", "交通信号灯", "交警", "交警", "交警", 40),
        ("0213", "路名牌", "城管", "市政", "市政", 70),
        ("0301", "公共厕所", "城管", "环卫", "环卫", 24),
    ],
    "gb47678": [
        ("01001", "供水井盖", "住建", "供水", "供水", 220),
        ("01002", "污水井盖", "住建", "市政", "市政", 200),
        ("01003", "雨水井盖", "住建", "市政", "市政", 200),
        ("01005", "电力井盖", "住建", "供电", "供电", 100),
        ("01007", "通信井盖", "住建", "通信", "通信", 80),
        ("01011", "燃气井盖", "住建", "燃气", "燃气", 70),
        ("01037", "路灯", "城管", "市政", "市政", 380),
        ("01054", "充电桩", "住建", "供电", "供电", 30),
        ("03005", "垃圾箱", "城管", "环卫", "环卫", 300),
        ("04002", "行道树", "城管", "园林", "园林", 450),
        ("02014", "交通信号灯", "交警", "交警", "交警", 36),
        ("02012", "路名牌", "城管", "市政", "市政", 60),
        ("03001", "公共厕所", "城管", "环卫", "环卫", 20),
    ],
}
LINE_CLASS = {"legacy": ("0211", "交通护栏"), "gb47678": ("02017", "交通护栏")}
POLYGON_CLASS = {"legacy": ("0405", "绿地"), "gb47678": ("04013", "绿地")}
STATUSES = ["完好"] * 17 + ["破损", "丢失", "占用"]
SOURCES = ["实测", "实测", "实测", "地形图"]


def _dates(rng: np.random.Generator, n: int) -> tuple[list, list]:
    import datetime as dt

    start = dt.date(2024, 3, 1)
    initial = [start + dt.timedelta(days=int(d)) for d in rng.integers(0, 200, n)]
    changed = [d + dt.timedelta(days=int(k)) if k > 500 else None
               for d, k in zip(initial, rng.integers(0, 700, n), strict=True)]
    return initial, changed


def _points_in(cells: gpd.GeoDataFrame, rng: np.random.Generator, n: int) -> tuple[list, list]:
    """n points well inside random grid cells (never on an edge), with each one's grid code."""
    picks = rng.integers(0, len(cells), n)
    out, codes = [], []
    for k in picks:
        cell = cells.geometry.iloc[k].buffer(-8.0)
        minx, miny, maxx, maxy = cell.bounds
        while True:
            p = shapely.Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
            if cell.contains(p):
                break
        out.append(p)
        codes.append(cells["code"].iloc[k])
    return out, codes


def census(county: County) -> dict[str, gpd.GeoDataFrame]:
    """The census of one county as rows in standard terms (renamed per family when written)."""
    rng = np.random.default_rng(county.seed + 1)
    cells = grids(county)
    orgs = ORGS[county.code]
    rows: list[dict] = []
    serial: dict[str, int] = {}

    def add(cls: str, name: str, dept: str, owner: str, keeper: str, geom, grid: str) -> None:
        serial[cls] = serial.get(cls, 0) + 1
        rows.append({"code": f"{county.code}{cls}{serial[cls]:06d}", "name": name,
                     "dept": orgs[dept], "owner": orgs[owner], "keeper": orgs[keeper],
                     "grid": grid, "geometry": geom})

    for cls, name, dept, owner, keeper, count in POINT_CLASSES[county.scheme]:
        points, codes = _points_in(cells, rng, count)
        for p, g in zip(points, codes, strict=True):
            add(cls, name, dept, owner, keeper, p, g)
    line_cls, line_name = LINE_CLASS[county.scheme]
    for k in rng.integers(0, len(cells), 40):
        c = cells.geometry.iloc[k].centroid
        line = shapely.LineString([(c.x - 30, c.y + 5), (c.x + 30, c.y - 5)])
        add(line_cls, line_name, "交警", "交警", "市政", line, cells["code"].iloc[k])
    poly_cls, poly_name = POLYGON_CLASS[county.scheme]
    for k in rng.integers(0, len(cells), 30):
        c = cells.geometry.iloc[k].centroid
        box = shapely.box(c.x - 20, c.y - 15, c.x + 20, c.y + 15)
        add(poly_cls, poly_name, "城管", "园林", "园林", box, cells["code"].iloc[k])
    frame = gpd.GeoDataFrame(rows, crs=CRS)
    n = len(frame)
    frame["status"] = [STATUSES[i] for i in rng.integers(0, len(STATUSES), n)]
    frame["initial"], frame["changed"] = _dates(rng, n)
    frame["source"] = [SOURCES[i] for i in rng.integers(0, len(SOURCES), n)]
    frame["note"] = [("新增" if k == 0 else None) for k in rng.integers(0, 25, n)]
    kinds = frame.geometry.geom_type
    return {"point": frame[kinds == "Point"], "line": frame[kinds == "LineString"],
            "polygon": frame[kinds == "Polygon"]}


def _org(frame: gpd.GeoDataFrame, key: str, part: int) -> list:
    return [o[0] if part == 0 else credit_code(o[1]) for o in frame[key]]


def write_census(county: County, folder: Path) -> None:
    parts = census(county)
    points = parts["point"]
    half = len(points) // 2
    first, second = points.iloc[:half], points.iloc[half:]
    if county.scheme == "legacy":
        # Chinese field names (5 characters at most: a DBF name holds 10 GBK bytes).
        chinese = gpd.GeoDataFrame({
            "标识码": first["code"], "部件名称": first["name"], "主管部门": _org(first, "dept", 0),
            "权属单位": _org(first, "owner", 0), "养护单位": _org(first, "keeper", 0),
            "所在网格": first["grid"], "状态": first["status"], "初始日期": first["initial"],
            "变更日期": first["changed"], "数据来源": first["source"], "备注": first["note"],
            "geometry": first.geometry}, crs=CRS)
        write_shapefile(chinese, folder / "部件_井盖路灯.shp", cpg=False, dates=True)
        rest = pd.concat([second, parts["line"], parts["polygon"]])
        for kind, frame in (("点", second), ("护栏", parts["line"]), ("绿地", parts["polygon"])):
            english = gpd.GeoDataFrame({
                "ObjID": frame["code"], "ObjName": frame["name"],
                "DeptCode1": _org(frame, "dept", 1), "DeptName1": _org(frame, "dept", 0),
                "DeptCode2": _org(frame, "owner", 1), "DeptName2": _org(frame, "owner", 0),
                "DeptCode3": _org(frame, "keeper", 1), "DeptName3": _org(frame, "keeper", 0),
                "BGID": frame["grid"], "ObjState": frame["status"],
                "ORDate": [d.strftime("%Y%m%d") for d in frame["initial"]],
                "CHDate": [d.strftime("%Y%m%d") if d else None for d in frame["changed"]],
                "DataSource": frame["source"], "Note": frame["note"],
                "geometry": frame.geometry}, crs=CRS)
            write_shapefile(english, folder / f"部件_CJT214_{kind}.shp", cpg=False)
        del rest
    else:
        for kind, frame in (("点", first), ("护栏", parts["line"]), ("绿地", parts["polygon"])):
            standard = gpd.GeoDataFrame({
                "GLBJBSM": frame["code"], "GLBJMC": frame["name"],
                "ZGBMDM": _org(frame, "dept", 1), "ZGBMMC": _org(frame, "dept", 0),
                "QSDWDM": _org(frame, "owner", 1), "QSDWMC": _org(frame, "owner", 0),
                "YHDWDM": _org(frame, "keeper", 1), "YHDWMC": _org(frame, "keeper", 0),
                "SZDYWGBSM": frame["grid"], "GLBJZT": frame["status"],
                "CSRQ": frame["initial"], "BGRQ": frame["changed"], "SJLY": frame["source"],
                "BZ": frame["note"], "geometry": frame.geometry}, crs=CRS)
            write_shapefile(standard, folder / f"管理部件_{kind}.shp", cpg=True, dates=True)
        pinyin = gpd.GeoDataFrame({
            "BJBM": second["code"], "BJMC": second["name"], "ZGBM": _org(second, "dept", 0),
            "QSDW": _org(second, "owner", 0), "YHDW": _org(second, "keeper", 0),
            "SZWG": second["grid"], "ZT": second["status"],
            "CSRQ": [d.strftime("%Y-%m-%d") for d in second["initial"]],
            "BZ": second["note"], "geometry": second.geometry}, crs=CRS)
        write_shapefile(pinyin, folder / "部件_拼音.shp", cpg=True)


# -- responsibility rules ---------------------------------------------------------------------

# 权责清单: kind, class → department (a radius only where the default 30 m does not suit the
# class). Legacy codes repeat across kinds (0102 is 污水井盖 and 暴露垃圾), so kinds are given.
DUTIES = {
    "legacy": [("事件", "0102", "城管", None), ("事件", "0103", "城管", None),
               ("事件", "0104", "环卫", None), ("事件", "0110", "住建", None),
               ("事件", "0201", "城管", None), ("事件", "0302", "住建", None),
               ("事件", "0404", "市政", None), ("事件", "0406", "市政", None),
               ("事件", "0501", "城管", None), ("事件", "0505", "交警", None),
               ("事件", "0506", "城管", None), ("事件", "0510", "城管", None),
               ("部件", "0118", "市政", 50.0), ("部件", "0402", "园林", 15.0)],
    "gb47678": [("事件", "06010", "城管", None), ("事件", "06011", "城管", None),
                ("事件", "06012", "环卫", None), ("事件", "06013", "住建", None),
                ("事件", "07001", "城管", None), ("事件", "08002", "住建", None),
                ("事件", "09005", "城管", None), ("事件", "09006", "城管", None),
                ("事件", "09009", "交警", None), ("事件", "09010", "城管", None),
                ("", "01037", "市政", 50.0), ("", "04002", "园林", 15.0)],
}
# Sanitation contract areas (环卫作业区): the first street's communities, one contractor each.
ZONE_UNITS = ("宣城市洁城环境服务有限公司", "宣城市绿源保洁有限公司")
ZONE_CLASSES = {"legacy": "事件:0102,事件:0103,事件:0104,部件:0305",
                "gb47678": "06010,06011,06012,03005"}


def write_rules(county: County, folder: Path) -> None:
    orgs = ORGS[county.code]
    lines = ["类型,类别代码,责任部门,搜索半径,备注"]
    for kind, cls, org, radius in DUTIES[county.scheme]:
        lines.append(f"{kind},{cls},{orgs[org][0]},{'' if radius is None else int(radius)},"
                     "依据《城市管理权责清单》")
    # Saved from Excel on a Chinese Windows machine: GBK, CRLF.
    (folder / "权责清单.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))
    cells = grids(county)
    first_street = cells[cells["street_code"] == f"{county.code}001"]
    areas = first_street.dissolve(by="community_code", as_index=False, aggfunc="first")
    zones = gpd.GeoDataFrame({
        "区域编码": [f"HW{i + 1:02d}" for i in range(len(areas))],
        "区域名称": [f"{c}环卫作业区" for c in areas["community"]],
        "责任单位": [ZONE_UNITS[i % 2] for i in range(len(areas))],
        "适用类别": [ZONE_CLASSES[county.scheme]] * len(areas),
        "geometry": areas.geometry}, crs=CRS)
    write_shapefile(zones, folder / "责任区域.shp", cpg=True)


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    for county in (XUANZHOU, NINGGUO):
        make_county(county, out)
    shutil.rmtree(HERE / "__pycache__", ignore_errors=True)


if __name__ == "__main__":
    main()
