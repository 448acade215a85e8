"""Parsing the body of `POST /lookup`: a JSON list of points ({lon, lat, crs?, class?} objects or
[lon, lat] pairs) or a GeoJSON FeatureCollection of points (properties: class, crs)."""

from __future__ import annotations

from typing import Any

import numpy as np

from gis.errors import BadInput
from gis.points import to_storage


class TooManyPoints(BadInput):
    code = "too_many_points"
    status = 413


def parse_points(body: Any, *, default_crs: str | None, default_class: str | None,
                 limit: int, default_kind: str | None = None
                 ) -> tuple[np.ndarray, np.ndarray, list[str | None], list[str | None]]:
    """(lon, lat in EPSG:4490, class per point, kind per point) in the order given."""
    if isinstance(body, dict) and body.get("type") == "FeatureCollection":
        items = [_feature(f, i) for i, f in enumerate(body.get("features") or [])]
    elif isinstance(body, dict) and isinstance(body.get("points"), list):
        items = [_item(p, i) for i, p in enumerate(body["points"])]
    elif isinstance(body, list):
        items = [_item(p, i) for i, p in enumerate(body)]
    else:
        raise BadInput("请求体应为点的 JSON 列表或 GeoJSON FeatureCollection "
                       "(body: expected a JSON list of points or a GeoJSON FeatureCollection)")
    if not items:
        raise BadInput("请求体中没有点 (body: no points)")
    if len(items) > limit:
        raise TooManyPoints(f"请求体有 {len(items)} 个点，每次最多 {limit} 个 "
                            f"(body: {len(items)} points; at most {limit} per call)")
    lon = np.empty(len(items))
    lat = np.empty(len(items))
    classes: list[str | None] = []
    kinds: list[str | None] = []
    by_crs: dict[str | None, list[int]] = {}
    for i, (x, y, crs, cls, kind) in enumerate(items):
        lon[i], lat[i] = x, y
        classes.append(cls if cls is not None else default_class)
        kinds.append(kind if kind is not None else default_kind)
        by_crs.setdefault(crs if crs is not None else default_crs, []).append(i)
    for crs, idx in by_crs.items():
        sel = np.array(idx)
        try:
            lon[sel], lat[sel] = to_storage(lon[sel], lat[sel], crs)
        except BadInput as exc:
            raise BadInput(f"请求体：{exc.message}") from None
    return lon, lat, classes, kinds


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadInput(f"{where}：{value!r} 不是数值 ({where}: {value!r} is not a number)")
    return float(value)


Item = tuple[float, float, str | None, str | None, str | None]


def _text(value: Any, where: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise BadInput(f"{where}：{value!r} 不是文本 ({where}: {value!r} is not a string)")
    return value


def _item(p: Any, i: int) -> Item:
    if isinstance(p, list | tuple) and len(p) == 2:
        return _number(p[0], f"body[{i}][0]"), _number(p[1], f"body[{i}][1]"), None, None, None
    if isinstance(p, dict) and "lon" in p and "lat" in p:
        return (_number(p["lon"], f"body[{i}].lon"), _number(p["lat"], f"body[{i}].lat"),
                _text(p.get("crs"), f"body[{i}].crs"), _text(p.get("class"), f"body[{i}].class"),
                _text(p.get("kind"), f"body[{i}].kind"))
    raise BadInput(f"body[{i}]：应为 {{\"lon\": …, \"lat\": …}} 或 [lon, lat] "
                   f"(body[{i}]: expected {{\"lon\": …, \"lat\": …}} or [lon, lat])")


def _feature(f: Any, i: int) -> Item:
    geom = f.get("geometry") if isinstance(f, dict) else None
    if not isinstance(geom, dict) or geom.get("type") != "Point":
        raise BadInput(f"features[{i}]：应为点（Point）要素 "
                       f"(features[{i}]: expected a Point feature)")
    coords = geom.get("coordinates")
    if not isinstance(coords, list) or len(coords) < 2:
        raise BadInput(f"features[{i}].geometry.coordinates：应为 [lon, lat] "
                       f"(features[{i}].geometry.coordinates: expected [lon, lat])")
    props = f.get("properties") or {}
    cls = props.get("class")
    return (_number(coords[0], f"features[{i}] lon"), _number(coords[1], f"features[{i}] lat"),
            _text(props.get("crs"), f"features[{i}].crs"), str(cls) if cls is not None else None,
            _text(props.get("kind"), f"features[{i}].kind"))
