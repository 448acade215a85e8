"""OGC API – Features (Part 1: Core, GeoJSON, HTML, OpenAPI 3.0; Part 2: CRS by reference) over
grids, streets, communities, census components and cases, so that GIS staff can add them as
layers in QGIS or read them with GDAL's OAPIF driver or owslib.

Coordinates are CRS84 (longitude, latitude) unless `crs` asks for EPSG:4490 or a district's
projected CRS; then they follow that CRS's axis order, as the standard requires (EPSG:4490 is
latitude first; the Gauss-Krüger zones are northing first). `bbox-crs` says the same of `bbox`.
Every resource answers JSON unless the client asks for HTML (`api.ogcapi.query.wants_html`).
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import shapely
import sqlalchemy as sa
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.orm import Session

from api import pages
from api.deps import Db, Reader
from api.ogcapi.catalog import COLLECTIONS, Collection
from api.ogcapi.query import (
    CRS84,
    EPSG_URI,
    parse_bbox,
    parse_crs,
    parse_datetime,
    refuse_unknown,
    transformer,
    wants_html,
)
from api.routes.lookup import json_response
from gis.errors import BadInput, NotFound
from grid.districts import list_districts

router = APIRouter(tags=["ogc api features"])

GEOJSON = "application/geo+json"
JSON = "application/json"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
]
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
# GDAL pages 10 at a time unless told otherwise and reads the default from the OpenAPI document:
# a census of 5,000 components is 5 requests, not 500
DEFAULT_LIMIT = 1_000
MAX_LIMIT = 10_000
MAX_OFFSET = 100_000_000     # beyond any collection; an offset past it is a client's mistake
ITEMS_PARAMETERS = {"f", "limit", "offset", "bbox", "bbox-crs", "crs", "datetime"}

F = Annotated[str | None, Query(description="json (default) or html; else the Accept header",
                                json_schema_extra={"enum": ["json", "html"]})]
CollectionId = Annotated[str, Path(json_schema_extra={"enum": list(COLLECTIONS)})]
HTML_TOO: dict[int | str, dict[str, Any]] = {200: {"content": {"text/html": {}}}}
GEOJSON_TOO: dict[int | str, dict[str, Any]] = {
    200: {"content": {GEOJSON: {"schema": {"type": "object"}}, "text/html": {}},
          "description": "GeoJSON"}}


class GeoJSONResponse(JSONResponse):
    media_type = GEOJSON


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _supported_crs(db: Session) -> list[str]:
    codes = {"4490"} | {d.crs.split(":")[1] for d in list_districts(db) if d.crs}
    return [CRS84, *[f"{EPSG_URI}{c}" for c in sorted(codes)]]


def _self(request: Request, media: str = JSON) -> list[dict[str, str]]:
    """rel=self in the format served and rel=alternate in the other (HTML)."""
    return [{"href": str(request.url.include_query_params(f="json")), "rel": "self",
             "type": media, "title": "this document"},
            {"href": str(request.url.include_query_params(f="html")), "rel": "alternate",
             "type": "text/html", "title": "this document as HTML"}]


def _answer(request: Request, f: str | None, title: str, body: dict[str, Any],
            media: str = JSON, headers: dict[str, str] | None = None) -> Response:
    if wants_html(request, f):
        return HTMLResponse(pages.ogc(title, body), headers=headers)
    if media == JSON:
        return json_response(body)
    return GeoJSONResponse(body, headers=headers)


def landing(request: Request) -> dict[str, Any]:
    base = _base(request)
    return {"title": "citygrid", "description": "Unit grids, census and cases (数字城管)",
            "links": [
                {"href": f"{base}/?f=json", "rel": "self", "type": JSON},
                {"href": f"{base}/?f=html", "rel": "alternate", "type": "text/html"},
                {"href": f"{base}/openapi.json", "rel": "service-desc",
                 "type": "application/vnd.oai.openapi+json;version=3.0"},
                {"href": f"{base}/docs", "rel": "service-doc", "type": "text/html"},
                {"href": f"{base}/conformance", "rel": "conformance", "type": JSON},
                {"href": f"{base}/collections", "rel": "data", "type": JSON}]}


@router.get("/conformance", responses=HTML_TOO)
def conformance(request: Request, f: F = None) -> Response:
    """The conformance classes implemented."""
    refuse_unknown(request, {"f"})
    return _answer(request, f, "Conformance", {"conformsTo": CONFORMANCE,
                                               "links": _self(request)})


def _collection_doc(request: Request, c: Collection, supported: list[str],
                    extent: dict[str, Any]) -> dict[str, Any]:
    base = _base(request)
    return {"id": c.id, "title": c.title, "description": c.description,
            "itemType": "feature", "geometryType": c.geometry_type,
            "crs": supported, "storageCrs": f"{EPSG_URI}4490", "extent": extent,
            "links": [{"href": f"{base}/collections/{c.id}", "rel": "self", "type": JSON},
                      {"href": f"{base}/collections/{c.id}?f=html", "rel": "alternate",
                       "type": "text/html"},
                      {"href": f"{base}/collections/{c.id}/items", "rel": "items",
                       "type": GEOJSON},
                      {"href": f"{base}/collections/{c.id}/items?f=html", "rel": "items",
                       "type": "text/html"}]}


def _extent(db: Session, c: Collection) -> dict[str, Any]:
    """The collection's bbox (CRS84) and, where its features have times, the first and last."""
    first, last = c.time or ("NULL::timestamptz", "NULL::timestamptz")
    # The collection's SQL is ours, never the client's.
    sql = (f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), t0, t1 FROM "  # noqa: S608
           f"(SELECT ST_Extent({c.geom}) AS e, min({first}) AS t0, max({last}) AS t1 "
           f"{c.source}) x")
    row = db.execute(sa.text(sql)).one()
    box = [float(v) for v in row[:4]] if row[0] is not None else [-180, -90, 180, 90]
    extent: dict[str, Any] = {"spatial": {"bbox": [box], "crs": CRS84}}
    if c.time:
        extent["temporal"] = {"interval": [[_rfc3339(row[4]), _rfc3339(row[5])]],
                              "trs": GREGORIAN}
    return extent


def _rfc3339(value: Any) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


@router.get("/collections", responses=HTML_TOO)
def collections(request: Request, db: Db, who: Reader, f: F = None) -> Response:
    """The collections: grids, streets, communities, the census (points, lines, polygons),
    cases."""
    refuse_unknown(request, {"f"})
    supported = _supported_crs(db)
    return _answer(request, f, "Collections", {
        "collections": [_collection_doc(request, c, supported, _extent(db, c))
                        for c in COLLECTIONS.values()],
        "crs": supported, "links": _self(request)})


def _get(collection_id: str) -> Collection:
    c = COLLECTIONS.get(collection_id)
    if c is None:
        names = ", ".join(COLLECTIONS)
        raise NotFound(f"没有集合 {collection_id!r}（集合：{names}） "
                       f"(no collection {collection_id!r}; collections: {names})")
    return c


@router.get("/collections/{collection_id}", responses=HTML_TOO)
def collection(collection_id: CollectionId, request: Request, db: Db, who: Reader,
               f: F = None) -> Response:
    """One collection's description."""
    c = _get(collection_id)
    refuse_unknown(request, {"f"})
    return _answer(request, f, c.title,
                   _collection_doc(request, c, _supported_crs(db), _extent(db, c)))


def _feature(row: Any, geom: Any) -> dict[str, Any]:
    props = {k: v for k, v in row._mapping.items() if k not in ("id", "wkb")}
    return {"type": "Feature", "id": row.id, "properties": props,
            "geometry": shapely.geometry.mapping(geom) if geom is not None else None}


def _to_crs(geoms: np.ndarray, crs: str) -> np.ndarray:
    if crs == CRS84:
        return geoms
    t = transformer(CRS84, crs)
    return shapely.transform(geoms, lambda c: np.column_stack(t.transform(c[:, 0], c[:, 1])))


def _conditions(c: Collection, filters: dict[str, str | None], bbox: tuple[float, ...] | None,
                when: str | None) -> tuple[list[str], dict[str, Any]]:
    """The SQL conditions (and their bound values) of the property filters, bbox, datetime."""
    where: list[str] = []
    params: dict[str, Any] = {}
    for name, value in filters.items():
        if value is None:
            continue
        column = c.filters.get(name)
        if column is None:
            raise BadInput(f"{name}：集合 {c.id} 没有可筛选的该属性 "
                           f"({name}: collection {c.id} has no such property to filter on)")
        where.append(f"{column} = ANY(:{name})")
        params[name] = value.split(",")
    if bbox:
        where.append(f"{c.geom} && ST_MakeEnvelope(:x1, :y1, :x2, :y2, 4490)")
        params |= dict(zip(("x1", "y1", "x2", "y2"), bbox, strict=True))
    if when is not None:
        if c.time is None:
            raise BadInput(f"datetime：集合 {c.id} 的要素没有时间 "
                           f"(datetime: the features of {c.id} have no time)")
        lo, hi = parse_datetime(when)
        first, last = c.time
        if hi is not None:
            where.append(f"{first} <= :t_hi")
            params["t_hi"] = hi
        if lo is not None:
            where.append(f"{last} >= :t_lo")
            params["t_lo"] = lo
    return where, params


def _page(limit: int, offset: int) -> int:
    """The limit to use: capped at the maximum, not refused (Part 1,
    /req/core/fc-limit-response-1); a limit below 1 or an offset out of range is refused."""
    if limit < 1:
        raise BadInput(f"limit：{limit} 小于 1 (limit: {limit} is less than 1)")
    if not 0 <= offset <= MAX_OFFSET:
        raise BadInput(f"offset：{offset} 超出范围 0–{MAX_OFFSET} "
                       f"(offset: {offset} is outside 0–{MAX_OFFSET})")
    return min(limit, MAX_LIMIT)


@router.get("/collections/{collection_id}/items", response_class=GeoJSONResponse,
            responses=GEOJSON_TOO)
def items(
    collection_id: CollectionId, request: Request, db: Db, who: Reader,
    bbox: str | None = None,
    bbox_crs: Annotated[str | None, Query(alias="bbox-crs")] = None,
    crs: str | None = None,
    datetime: Annotated[str | None, Query(description=(
        "an instant or an interval (start/end, `..` for an open end): components by their "
        "初始日期–变更日期, cases by the time reported"))] = None,
    # bounds checked here (`_page`), so that a refusal is in Chinese first and a limit above
    # the maximum is capped; the schema says them to clients
    limit: Annotated[int, Query(description=f"at most {MAX_LIMIT}; more is capped",
                                json_schema_extra={"minimum": 1, "maximum": MAX_LIMIT})
                     ] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(json_schema_extra={"minimum": 0, "maximum": MAX_OFFSET})] = 0,
    district: str | None = None,
    state: str | None = None,
    class_: Annotated[str | None, Query(alias="class")] = None,
    f: F = None,
) -> Response:
    """Features of a collection, a page at a time (bbox, datetime, limit, offset; crs,
    bbox-crs)."""
    c = _get(collection_id)
    refuse_unknown(request, ITEMS_PARAMETERS | set(c.filters))
    limit = _page(limit, offset)
    supported = _supported_crs(db)
    out_crs = parse_crs(crs, supported, "crs")
    box = parse_bbox(bbox, parse_crs(bbox_crs, supported, "bbox-crs")) if bbox else None
    where, params = _conditions(c, {"district": district, "state": state, "class": class_},
                                box, datetime)
    sql = c.select() + "".join(f" AND {w}" for w in where)
    matched = db.execute(sa.text(f"SELECT count(*) FROM ({sql}) q"), params).scalar_one()  # noqa: S608
    # in a bbox, the spatial index finds the rows and they are sorted; without one, a page is
    # read in index order (order_by)
    order = c.id_column if bbox else c.order_by or c.id_column
    rows = db.execute(sa.text(f"{sql} ORDER BY {order} LIMIT :limit OFFSET :offset"),
                      params | {"limit": limit, "offset": offset}).all()
    geoms = _to_crs(np.asarray(shapely.from_wkb([bytes(r.wkb) if r.wkb else None
                                                 for r in rows]), dtype=object), out_crs) \
        if rows else np.array([])
    links = _self(request, GEOJSON)
    if offset + len(rows) < matched:
        links.append({"href": str(request.url.include_query_params(
            offset=offset + limit, limit=limit)), "rel": "next", "type": GEOJSON})
    if offset > 0:
        links.append({"href": str(request.url.include_query_params(
            offset=max(0, offset - limit), limit=limit)), "rel": "prev", "type": GEOJSON})
    body = {"type": "FeatureCollection",
            "features": [_feature(r, g) for r, g in zip(rows, geoms, strict=True)],
            "numberMatched": matched, "numberReturned": len(rows), "links": links}
    return _answer(request, f, c.title, body, GEOJSON, {"Content-Crs": f"<{out_crs}>"})


@router.get("/collections/{collection_id}/items/{feature_id}", response_class=GeoJSONResponse,
            responses=GEOJSON_TOO)
def item(collection_id: CollectionId, feature_id: str, request: Request, db: Db, who: Reader,
         crs: str | None = None, f: F = None) -> Response:
    """One feature."""
    c = _get(collection_id)
    refuse_unknown(request, {"f", "crs"})
    out_crs = parse_crs(crs, _supported_crs(db), "crs")
    row = db.execute(sa.text(f"{c.select()} AND {c.id_column} = :id"),
                     {"id": feature_id}).first()
    if row is None:
        raise NotFound(f"集合 {c.id} 中没有要素 {feature_id!r} "
                       f"(no feature {feature_id!r} in {c.id})")
    geom = _to_crs(np.asarray([shapely.from_wkb(bytes(row.wkb))], dtype=object), out_crs)[0]
    body = {**_feature(row, geom), "links": [
        *_self(request, GEOJSON),
        {"href": f"{_base(request)}/collections/{c.id}", "rel": "collection", "type": JSON}]}
    return _answer(request, f, f"{c.title} {feature_id}", body, GEOJSON,
                   {"Content-Crs": f"<{out_crs}>"})
