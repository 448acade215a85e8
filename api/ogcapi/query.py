"""The query parameters of OGC API – Features, checked as the standard says: what a client may
send, in which format it wants the answer, and the values of `crs`, `bbox` and `datetime`.

Every refusal is a `BadInput` (400) that names the parameter: the standard's clients (GDAL,
owslib, the conformance suite) expect 400 for a value they got wrong, not FastAPI's 422.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from functools import lru_cache

import numpy as np
from pyproj import CRS, Transformer
from starlette.requests import Request

from cases.worktime import CST
from gis.errors import BadInput

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/"
FORMATS = {"json": False, "geojson": False, "html": True}


def wants_html(request: Request, f: str | None) -> bool:
    """HTML only when asked for: `f=html`, or an Accept header naming text/html as browsers
    send. JSON otherwise (no Accept, `*/*`, application/json): owslib and GDAL send no Accept
    or `*/*` and must get JSON."""
    if f is not None:
        if f not in FORMATS:
            raise BadInput(f"f：不支持的格式 {f!r}，应为 json 或 html "
                           f"(f: {f!r} is not offered; use json or html)")
        return FORMATS[f]
    return "text/html" in request.headers.get("accept", "")


def refuse_unknown(request: Request, accepted: Iterable[str]) -> None:
    """400 for a query parameter the API does not define (Part 1, /req/core/query-param-unknown):
    a misspelt `bbox` must not quietly return the whole collection."""
    allowed = set(accepted)
    unknown = [k for k in request.query_params if k not in allowed]
    if unknown:
        names = ", ".join(sorted(allowed))
        raise BadInput(f"未知的查询参数 {unknown[0]}（可用：{names}） "
                       f"(unknown query parameter {unknown[0]!r}; accepted: {names})")


def parse_crs(value: str | None, supported: list[str], name: str) -> str:
    if value is None:
        return CRS84
    v = value.strip().strip("[]")
    if v.upper().startswith("EPSG:"):
        v = f"{EPSG_URI}{v.split(':', 1)[1]}"
    if v not in supported:
        offered = ", ".join(supported)
        raise BadInput(f"{name}：不提供坐标系 {value!r}，可用 {offered} "
                       f"({name}: {value!r} is not offered; use one of {offered})")
    return v


@lru_cache(maxsize=64)
def transformer(src: str, dst: str) -> Transformer:
    """Authority axis order on both sides: CRS84 is lon/lat, EPSG:4490 lat/lon."""
    return Transformer.from_crs(CRS.from_user_input(_pyproj_name(src)),
                                CRS.from_user_input(_pyproj_name(dst)))


def _pyproj_name(uri: str) -> str:
    return "OGC:CRS84" if uri == CRS84 else f"EPSG:{uri.rsplit('/', 1)[1]}"


def parse_bbox(bbox: str, bbox_crs: str) -> tuple[float, float, float, float]:
    """A bbox of 4 (or 6, with heights) numbers in `bbox_crs`'s axis order, as lon/lat."""
    try:
        values = [float(v) for v in bbox.split(",")]
    except ValueError:
        values = []
    if len(values) not in (4, 6) or not all(math.isfinite(v) for v in values):
        raise BadInput(f"bbox：{bbox!r} 不是四个数 (bbox: {bbox!r} is not four numbers)")
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    a1, b1, a2, b2 = values
    if bbox_crs == CRS84:
        lon1, lat1, lon2, lat2 = a1, b1, a2, b2
    else:
        t = transformer(bbox_crs, CRS84)
        xs, ys = t.transform(np.array([a1, a2, a1, a2]), np.array([b1, b2, b2, b1]))
        lon1, lon2, lat1, lat2 = min(xs), max(xs), min(ys), max(ys)
    if lon1 > lon2 or lat1 > lat2:
        raise BadInput(f"bbox：{bbox!r} 的角点顺序颠倒 "
                       f"(bbox: {bbox!r} has its corners the wrong way round)")
    return lon1, lat1, lon2, lat2


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _instant(text: str, whole: str, end: bool) -> datetime:
    """An RFC 3339 date-time (with its offset), or a date: a day in China Standard Time, from
    its first instant (`end` false) or to its last."""
    try:
        if _DATE.fullmatch(text):
            day = datetime.combine(date.fromisoformat(text), datetime.min.time(), CST)
            return day + timedelta(days=1, microseconds=-1) if end else day
        value = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise BadInput(f"datetime：{whole!r} 不是 RFC 3339 时间（须带时区，如 "
                       f"2026-05-01T08:00:00+08:00）或日期 (datetime: {whole!r} is not an "
                       f"RFC 3339 date-time with an offset, a date, or an interval of them)")
    return value


def parse_datetime(value: str) -> tuple[datetime | None, datetime | None]:
    """`datetime`: an instant, or an interval `start/end` whose open end is `..` or empty
    (Part 1, 7.15.4), as the first and last instants it covers (None: unbounded)."""
    parts = value.split("/")
    if len(parts) == 1 and parts[0] not in ("", ".."):
        return _instant(parts[0], value, False), _instant(parts[0], value, True)
    if len(parts) != 2 or all(p in ("", "..") for p in parts):
        raise BadInput(f"datetime：{value!r} 不是时间或时间区间 "
                       f"(datetime: {value!r} is neither an instant nor an interval)")
    lo = None if parts[0] in ("", "..") else _instant(parts[0], value, False)
    hi = None if parts[1] in ("", "..") else _instant(parts[1], value, True)
    if lo is not None and hi is not None and lo > hi:
        raise BadInput(f"datetime：{value!r} 的起点晚于终点 "
                       f"(datetime: {value!r} ends before it starts)")
    return lo, hi
