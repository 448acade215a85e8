"""CRS in one place: the storage CRS, parsing user CRS strings, cached axis-safe transformers,
and the sanity check that coordinates agree with the CRS they claim.

Storage is CGCS2000 geographic (EPSG:4490). EPSG:4490 is latitude-first by definition; every
transformer here is built with `always_xy=True`, so coordinates are always (lon, lat) / (x, y).
*Assigning* a CRS (the file had none) happens when a file is read (`gis.vector`); *reprojecting*
happens here, and a CRS that the coordinates contradict raises `CrsError` instead of putting the
data 40,000 km away.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError as PyprojCRSError

from gis.errors import CrsError

STORAGE_EPSG = 4490
STORAGE_CRS = CRS.from_epsg(STORAGE_EPSG)

# CGCS2000 3-degree Gauss-Krüger zones: central meridians 75E..135E. EPSG:4534..4554 give
# eastings of about 500 km (no zone prefix); EPSG:4513..4533 prefix the zone number (zone 25..45),
# so the same point has an easting of about zone*1,000 km + 500 km.
GK3_CM_FIRST_EPSG, GK3_CM_FIRST = 4534, 75
GK3_ZONE_FIRST_EPSG, GK3_ZONE_FIRST = 4513, 25

# Where Chinese data can be (with a margin): anything outside is a wrong CRS or swapped axes.
CHINA_LONLAT = (70.0, 0.0, 140.0, 56.0)


def parse_crs(text: str | int | CRS) -> CRS:
    """A CRS from what a user types: 'EPSG:4549', '4549', a WKT or a PROJ string."""
    if isinstance(text, CRS):
        return text
    value = str(text).strip()
    if value.isdigit():
        value = f"EPSG:{value}"
    try:
        return CRS.from_user_input(value)
    except PyprojCRSError as exc:
        raise CrsError(f"未知的坐标系 {str(text)!r}，应为 EPSG 代码，例如 EPSG:4549 "
                       f"(unknown CRS {str(text)!r}: expected an EPSG code)") from exc


def describe(crs: CRS) -> str:
    """'EPSG:4549' when the CRS is (or matches) an EPSG code, else its name."""
    code = epsg_of(crs)
    return f"EPSG:{code}" if code else crs.name


@lru_cache(maxsize=256)
def _epsg_of_wkt(wkt: str) -> int | None:
    crs = CRS.from_wkt(wkt)
    code = crs.to_epsg(min_confidence=70)
    if code is None:
        # ESRI-style .prj files name CGCS2000 GK zones without an authority; match by name.
        code = _gk_by_name(crs)
    return code


def epsg_of(crs: CRS) -> int | None:
    auth = crs.to_authority()
    if auth and auth[0] == "EPSG":
        return int(auth[1])
    return _epsg_of_wkt(crs.to_wkt())


def _gk_by_name(crs: CRS) -> int | None:
    name = crs.name.upper().replace("-", "_").replace(" ", "_")
    if "CGCS2000" not in name or not crs.is_projected:
        return None
    import re

    m = re.search(r"3_DEGREE_GK_CM_(\d+)E", name)
    if m:
        return GK3_CM_FIRST_EPSG + (int(m.group(1)) - GK3_CM_FIRST) // 3
    m = re.search(r"3_DEGREE_GK_ZONE_(\d+)", name)
    if m:
        return GK3_ZONE_FIRST_EPSG + int(m.group(1)) - GK3_ZONE_FIRST
    return None


def gk3_crs_for_lon(lon: float) -> CRS:
    """The CGCS2000 3-degree Gauss-Krüger zone (CM form, EPSG:4534..4554) containing `lon`."""
    cm = math.floor((lon + 1.5) / 3.0) * 3   # zone edges at 1.5° from each meridian
    cm = min(max(cm, GK3_CM_FIRST), GK3_CM_FIRST + 60)
    return CRS.from_epsg(GK3_CM_FIRST_EPSG + (cm - GK3_CM_FIRST) // 3)


def is_projected_metres(crs: CRS) -> bool:
    if not crs.is_projected:
        return False
    units = {axis.unit_name.lower() for axis in crs.axis_info}
    return units <= {"metre", "meter", "m"}


def require_projected_metres(crs: CRS, what: str) -> CRS:
    if not is_projected_metres(crs):
        raise CrsError(f"{what} {describe(crs)} 不是以米为单位的投影坐标系；请用高斯-克吕格投影带"
                       "（如 EPSG:4549）或本地城市坐标系 "
                       f"({what} {describe(crs)} is not a projected CRS in metres)")
    return crs


@lru_cache(maxsize=256)
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(CRS.from_wkt(src), CRS.from_wkt(dst), always_xy=True)


def transformer(src: CRS, dst: CRS) -> Transformer:
    """A cached transformer in (x, y) / (lon, lat) order, whatever the CRS's axis order."""
    return _transformer(src.to_wkt(), dst.to_wkt())


def same_crs(a: CRS, b: CRS) -> bool:
    return a == b or (epsg_of(a) is not None and epsg_of(a) == epsg_of(b))


def prj_crs(prj: Path | None) -> str | None:
    """The CRS a shapefile's .prj states, as GDAL's shapefile driver and pyogrio give it:
    'EPSG:n' when it matches an EPSG CRS with 90 % confidence or more (GDAL's FindBestMatch),
    else its WKT; None when there is no .prj or it says nothing readable. The same answer as
    GDAL's on every CRS tests/test_vector.py tries, without loading GDAL (gis.vector reads a
    point shapefile with it)."""
    if prj is None:
        return None
    raw = prj.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("gb18030", errors="replace")     # a local CRS named in Chinese
    try:
        found = CRS.from_user_input(text.strip())
    except PyprojCRSError:
        return None
    code = found.to_epsg(min_confidence=90)
    return f"EPSG:{code}" if code else found.to_wkt()


def reproject(geoms: np.ndarray, src: CRS, dst: CRS) -> np.ndarray:
    """Reproject an array of shapely geometries; no-op when the CRSs are the same."""
    if same_crs(src, dst):
        return geoms
    t = transformer(src, dst)

    def _xy(coords: np.ndarray) -> np.ndarray:
        x, y = t.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, _xy)


def reproject_xy(x: np.ndarray, y: np.ndarray, src: CRS, dst: CRS) -> tuple[np.ndarray, np.ndarray]:
    if same_crs(src, dst):
        return np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    return transformer(src, dst).transform(x, y)


# where a CRS came from (gis.vector), as a person reads it
_SOURCE_ZH = {"the file": "文件所述", ".prj": ".prj 所述", "the file's .prj": "文件的 .prj 所述",
              "--crs": "--crs 所指定"}


def check_coordinates(bounds: tuple[float, float, float, float], crs: CRS, source: str) -> None:
    """Raise CrsError when coordinates with these bounds cannot be in `crs` (in China).

    `source` says where the CRS came from ("the file's .prj", "--crs"), for the message.
    """
    minx, miny, maxx, maxy = bounds
    if not np.all(np.isfinite(bounds)):
        return  # no geometry at all; nothing to check
    name = describe(crs)
    said = _SOURCE_ZH.get(source, source)
    xy1 = f"x {minx:.1f}..{maxx:.1f}, y {miny:.1f}..{maxy:.1f}"
    if crs.is_geographic:
        lon_ok = CHINA_LONLAT[0] <= minx and maxx <= CHINA_LONLAT[2]
        lat_ok = CHINA_LONLAT[1] <= miny and maxy <= CHINA_LONLAT[3]
        if lon_ok and lat_ok:
            return
        if (CHINA_LONLAT[1] <= minx and maxx <= CHINA_LONLAT[3]
                and CHINA_LONLAT[0] <= miny and maxy <= CHINA_LONLAT[2]):
            raise CrsError(f"坐标像是（纬度，经度）：x 为 {minx:.4f}..{maxx:.4f}，y 为 "
                           f"{miny:.4f}..{maxy:.4f}；经度应在前 (coordinates look like "
                           "(latitude, longitude): longitude must come first)")
        zh, en = _projected_hint(minx, maxx)
        raise CrsError(f"坐标 {xy1} 不是中国境内的经纬度，但坐标系为 {name}（{said}）{zh} "
                       f"(coordinates are not longitude/latitude in China, but {source} says "
                       f"{name}{en})")
    # projected: the corners must land in China and near the CRS's own area of use
    if _lands(minx, miny, maxx, maxy, crs):
        return
    if abs(minx) <= 180 and abs(maxx) <= 180 and abs(miny) <= 90 and abs(maxy) <= 90:
        raise CrsError(f"坐标 x {minx:.4f}..{maxx:.4f}, y {miny:.4f}..{maxy:.4f} 像是经纬度，"
                       f"但坐标系为 {name}（{said}）；请用 --crs EPSG:4490 (coordinates look like "
                       f"degrees, but {source} says {name})")
    if _lands(miny, minx, maxy, maxx, crs):
        raise CrsError(f"坐标 {xy1} 像是 {name} 的（北坐标，东坐标）：两列颠倒了（测量的 X 是"
                       "北向），请对调后再导入 (coordinates look like (northing, easting) in "
                       f"{name}: the columns are swapped)")
    zh, en = _projected_hint(minx, maxx, crs)
    raise CrsError(f"坐标 {xy1} 与坐标系 {name}（{said}）不符{zh} "
                   f"(coordinates do not fit {name} (from {source}){en})")


def _lands(minx: float, miny: float, maxx: float, maxy: float, crs: CRS) -> bool:
    """Whether projected bounds land in China, within a zone's width of the CRS's area of use."""
    t = transformer(crs, STORAGE_CRS)
    xs = np.array([minx, maxx, minx, maxx])
    ys = np.array([miny, miny, maxy, maxy])
    with np.errstate(all="ignore"):
        lon, lat = t.transform(xs, ys)
    lon, lat = np.asarray(lon), np.asarray(lat)
    inside = bool(np.all(np.isfinite(lon)) and np.all(np.isfinite(lat))
                  and CHINA_LONLAT[0] <= lon.min() and lon.max() <= CHINA_LONLAT[2]
                  and CHINA_LONLAT[1] <= lat.min() and lat.max() <= CHINA_LONLAT[3])
    area = crs.area_of_use
    if inside and area is not None:
        # Survey data strays beyond its zone, but not by more than a zone's width or so.
        inside = (area.west - 3.5 <= lon.min() and lon.max() <= area.east + 3.5
                  and area.south - 2 <= lat.min() and lat.max() <= area.north + 2)
    return inside


def _projected_hint(minx: float, maxx: float, crs: CRS | None = None) -> tuple[str, str]:
    """Name the Gauss-Krüger EPSG code whose easting convention the coordinates follow (in
    Chinese, in English)."""
    mid = (minx + maxx) / 2
    zone, rest = divmod(mid, 1_000_000)
    if 13 <= zone <= 45 and 300_000 <= rest <= 700_000:
        if zone >= GK3_ZONE_FIRST:
            code = GK3_ZONE_FIRST_EPSG + int(zone) - GK3_ZONE_FIRST
            near = f"{int(zone)},{int(rest) // 1000:03d} km"
            return (f"；东坐标约 {near}，带有带号 {int(zone)}：可试用 --crs EPSG:{code}",
                    f"; eastings near {near} carry the zone number {int(zone)}: "
                    f"try --crs EPSG:{code}")
        return "", ""
    if 300_000 <= mid <= 700_000 and crs is not None:
        declared = epsg_of(crs)
        if declared is not None and GK3_ZONE_FIRST_EPSG <= declared < GK3_CM_FIRST_EPSG:
            zone_no = declared - GK3_ZONE_FIRST_EPSG + GK3_ZONE_FIRST
            cm_code = GK3_CM_FIRST_EPSG + zone_no - GK3_ZONE_FIRST
            return (f"；东坐标约 500 km，没有带号：可试用 --crs EPSG:{cm_code}",
                    f"; eastings near 500 km have no zone prefix: try --crs EPSG:{cm_code}")
    return "", ""


# -- a district's local metric frame -----------------------------------------------------------

_A, _E2 = 6378137.0, 0.00669438002290   # GRS80 (CGCS2000)


@dataclass(frozen=True)
class LocalFrame:
    """Metres east and north of a district's centre, by the radii of curvature there.

    An affine map of longitude and latitude, so containment is exactly what PostGIS computes in
    EPSG:4490, and over a county (tens of kilometres) its distances agree with the district's
    Gauss-Krüger CRS to within about 0.1 %: the frame the lookup index measures in."""

    lon0: float
    lat0: float
    kx: float     # metres per degree of longitude
    ky: float     # metres per degree of latitude

    @classmethod
    def around(cls, lon0: float, lat0: float) -> LocalFrame:
        phi = math.radians(lat0)
        w = math.sqrt(1 - _E2 * math.sin(phi) ** 2)
        meridian = _A * (1 - _E2) / w**3
        normal = _A / w
        return cls(lon0, lat0, math.radians(1) * normal * math.cos(phi),
                   math.radians(1) * meridian)

    def xy(self, lon: Any, lat: Any) -> tuple[Any, Any]:
        return (lon - self.lon0) * self.kx, (lat - self.lat0) * self.ky

    def lonlat(self, x: Any, y: Any) -> tuple[Any, Any]:
        """The inverse of `xy`."""
        return self.lon0 + x / self.kx, self.lat0 + y / self.ky

    def geoms(self, geoms: np.ndarray) -> np.ndarray:
        return shapely.transform(geoms, lambda c: np.column_stack(self.xy(c[:, 0], c[:, 1])))
