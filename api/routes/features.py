"""OGC API – Features (Part 1 Core, Part 2 CRS by reference) over grids, streets, communities,
census components and cases, so that GIS staff can add them as layers in QGIS or read them with
GDAL's OAPIF driver.

Coordinates are CRS84 (longitude, latitude) unless `crs` asks for EPSG:4490 or a district's
projected CRS; then they follow that CRS's axis order, as the standard requires (EPSG:4490 is
latitude first; the Gauss-Krüger zones are northing first). `bbox-crs` says the same of `bbox`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any, Literal

import numpy as np
import shapely
import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pyproj import CRS, Transformer
from sqlalchemy.orm import Session

from api.deps import Db, Reader
from gis.errors import BadInput, NotFound
from grid.districts import list_districts

router = APIRouter(tags=["ogc api features"])

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/"
GEOJSON = "application/geo+json"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
]
MAX_LIMIT = 10_000
MAX_OFFSET = 100_000_000     # beyond any collection; an offset past it is a client's mistake


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    columns: str      # the id and the properties
    source: str       # FROM … WHERE … (more conditions are appended with AND)
    geom: str         # the geometry expression (EPSG:4490)
    id_column: str
    filters: dict[str, str]   # query parameter → column it filters
    # the order of pages: the id, or columns an index gives in the id's order (so that a page
    # is read from the index rather than sorted out of the whole collection)
    order_by: str = ""

    def select(self) -> str:
        return f"SELECT {self.columns}, ST_AsBinary({self.geom}) AS wkb {self.source}"


_DUE = ("(CASE WHEN c.state = 'dispatched' THEN c.disposal_due_at "
        "WHEN c.state IN ('reported', 'filed', 'handled') THEN c.step_due_at END)")

COLLECTIONS = {c.id: c for c in (
    Collection(
        "grids", "单元网格 unit grids", "Current unit grids of every district.",
        "g.code AS id, g.district_code AS district, g.street_code AS street_code, "
        "s.name AS street, g.community_code AS community_code, cm.name AS community, "
        "round(g.area_m2::numeric, 1)::float AS area_m2",
        "FROM grid g LEFT JOIN street s ON s.district_code = g.district_code "
        "AND s.code = g.street_code LEFT JOIN community cm ON cm.district_code = "
        "g.district_code AND cm.code = g.community_code WHERE g.valid_to IS NULL",
        "g.geom", "g.code", {"district": "g.district_code"}),
    Collection(
        "streets", "街道 streets", "Streets (街道/乡镇): their own boundary where delivered, else "
        "the union of their grids.",
        "s.code AS id, s.district_code AS district, s.name",
        "FROM street s WHERE coalesce(s.boundary, s.outline) IS NOT NULL",
        "coalesce(s.boundary, s.outline)", "s.code", {"district": "s.district_code"}),
    Collection(
        "communities", "社区 communities", "Communities (社区/村): their own boundary where "
        "delivered, else the union of their grids.",
        "c.code AS id, c.district_code AS district, c.street_code, c.name",
        "FROM community c WHERE coalesce(c.boundary, c.outline) IS NOT NULL",
        "coalesce(c.boundary, c.outline)", "c.code", {"district": "c.district_code"}),
    Collection(
        "components", "管理部件 census components", "The live component census.",
        "c.code AS id, c.district_code AS district, c.class_code, cc.name AS class_name, "
        "c.name, c.status, c.grid_code, d.name AS department, o.name AS owner, "
        "k.name AS maintainer, c.initial_date::text AS initial_date, "
        "c.change_date::text AS change_date",
        # component_confined (migration 0009): the census the caller may see, through which a
        # bbox reaches the spatial index
        "FROM component_confined c JOIN district dd ON dd.code = c.district_code "
        "LEFT JOIN class_catalog cc ON cc.scheme = dd.scheme AND cc.kind = 'component' "
        "AND cc.code = c.class_code "
        "LEFT JOIN organisation d ON d.district_code = c.district_code AND d.id = c.dept_id "
        "LEFT JOIN organisation o ON o.district_code = c.district_code AND o.id = c.owner_id "
        "LEFT JOIN organisation k ON k.district_code = c.district_code "
        "AND k.id = c.maintainer_id WHERE c.retired_at IS NULL",
        "c.geom", "c.code", {"district": "c.district_code", "class": "c.class_code"},
        # a code begins with its district's: the primary key's order is the code's
        order_by="c.district_code, c.code"),
    Collection(
        "cases", "案件 cases", "Cases with their state and the department that holds them.",
        "c.number AS id, c.district_code AS district, c.state, c.source, c.kind, "
        f"c.class_code, c.class_name, c.description, c.department, c.grid_code, "
        f"c.reported_at::text AS reported_at, c.closed_at::text AS closed_at, "
        f"{_DUE}::text AS due_at, coalesce({_DUE} < now(), false) AS overdue",
        "FROM case_file c WHERE true", "c.geom", "c.number",
        {"district": "c.district_code", "state": "c.state", "class": "c.class_code"}),
)}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _supported_crs(db: Session) -> list[str]:
    codes = {"4490"} | {d.crs.split(":")[1] for d in list_districts(db) if d.crs}
    return [CRS84, *[f"{EPSG_URI}{c}" for c in sorted(codes)]]


def _parse_crs(value: str | None, supported: list[str], name: str) -> str:
    if value is None:
        return CRS84
    v = value.strip().strip("[]")
    if v.upper().startswith("EPSG:"):
        v = f"{EPSG_URI}{v.split(':', 1)[1]}"
    if v not in supported:
        raise BadInput(f"{name}: {value!r} is not offered; use one of {', '.join(supported)}")
    return v


@lru_cache(maxsize=64)
def _transformer(src: str, dst: str) -> Transformer:
    """Authority axis order on both sides: CRS84 is lon/lat, EPSG:4490 lat/lon."""
    return Transformer.from_crs(CRS.from_user_input(_pyproj_name(src)),
                                CRS.from_user_input(_pyproj_name(dst)))


def _pyproj_name(uri: str) -> str:
    return "OGC:CRS84" if uri == CRS84 else f"EPSG:{uri.rsplit('/', 1)[1]}"


def _links(request: Request, collection: str | None = None) -> list[dict[str, str]]:
    base = _base(request)
    out = [{"href": str(request.url), "rel": "self", "type": "application/json"}]
    if collection:
        out.append({"href": f"{base}/collections/{collection}/items", "rel": "items",
                    "type": GEOJSON})
    return out


@router.get("/conformance")
def conformance() -> dict[str, Any]:
    """The conformance classes implemented."""
    return {"conformsTo": CONFORMANCE}


def landing(request: Request) -> dict[str, Any]:
    base = _base(request)
    return {"title": "citygrid", "description": "Unit grids, census and cases (数字城管)",
            "links": [
                {"href": f"{base}/?f=json", "rel": "self", "type": "application/json"},
                {"href": f"{base}/openapi.json", "rel": "service-desc",
                 "type": "application/vnd.oai.openapi+json;version=3.0"},
                {"href": f"{base}/docs", "rel": "service-doc", "type": "text/html"},
                {"href": f"{base}/conformance", "rel": "conformance",
                 "type": "application/json"},
                {"href": f"{base}/collections", "rel": "data", "type": "application/json"}]}


def _collection_doc(request: Request, c: Collection, supported: list[str],
                    extent: list[float] | None) -> dict[str, Any]:
    base = _base(request)
    return {"id": c.id, "title": c.title, "description": c.description,
            "itemType": "feature", "crs": supported, "storageCrs": f"{EPSG_URI}4490",
            "extent": {"spatial": {"bbox": [extent or [-180, -90, 180, 90]], "crs": CRS84}},
            "links": [{"href": f"{base}/collections/{c.id}", "rel": "self",
                       "type": "application/json"},
                      {"href": f"{base}/collections/{c.id}/items", "rel": "items",
                       "type": GEOJSON}]}


def _extent(db: Session, c: Collection) -> list[float] | None:
    # The collection's SQL is ours, never the client's.
    sql = (f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "  # noqa: S608
           f"(SELECT ST_Extent({c.geom}) AS e {c.source}) x")
    box = db.execute(sa.text(sql)).first()
    return [float(v) for v in box] if box and box[0] is not None else None


@router.get("/collections")
def collections(request: Request, db: Db, who: Reader) -> dict[str, Any]:
    """The collections: grids, streets, communities, components, cases."""
    supported = _supported_crs(db)
    return {"collections": [_collection_doc(request, c, supported, _extent(db, c))
                            for c in COLLECTIONS.values()],
            "crs": supported, "links": _links(request)}


def _get(collection_id: str) -> Collection:
    c = COLLECTIONS.get(collection_id)
    if c is None:
        raise NotFound(f"no collection {collection_id!r} (collections: "
                       f"{', '.join(COLLECTIONS)})")
    return c


CollectionId = Literal["grids", "streets", "communities", "components", "cases"]


@router.get("/collections/{collection_id}")
def collection(collection_id: CollectionId, request: Request, db: Db,
               who: Reader) -> dict[str, Any]:
    """One collection's description."""
    c = _get(collection_id)
    return _collection_doc(request, c, _supported_crs(db), _extent(db, c))


def _bbox(bbox: str, bbox_crs: str) -> tuple[float, float, float, float]:
    try:
        values = [float(v) for v in bbox.split(",")]
    except ValueError:
        raise BadInput(f"bbox: {bbox!r} is not four numbers") from None
    if len(values) not in (4, 6) or not all(math.isfinite(v) for v in values):
        raise BadInput(f"bbox: {bbox!r} is not four numbers")
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    a1, b1, a2, b2 = values
    if bbox_crs == CRS84:
        lon1, lat1, lon2, lat2 = a1, b1, a2, b2
    else:
        t = _transformer(bbox_crs, CRS84)
        xs, ys = t.transform(np.array([a1, a2, a1, a2]), np.array([b1, b2, b2, b1]))
        lon1, lon2, lat1, lat2 = min(xs), max(xs), min(ys), max(ys)
    if lon1 > lon2 or lat1 > lat2:
        raise BadInput(f"bbox: {bbox!r} has its corners the wrong way round")
    return lon1, lat1, lon2, lat2


def _feature(row: Any, geom: Any) -> dict[str, Any]:
    props = {k: v for k, v in row._mapping.items() if k not in ("id", "wkb")}
    return {"type": "Feature", "id": row.id, "properties": props,
            "geometry": shapely.geometry.mapping(geom) if geom is not None else None}


def _to_crs(geoms: np.ndarray, crs: str) -> np.ndarray:
    if crs == CRS84:
        return geoms
    t = _transformer(CRS84, crs)
    return shapely.transform(geoms, lambda c: np.column_stack(t.transform(c[:, 0], c[:, 1])))


@router.get("/collections/{collection_id}/items", response_class=JSONResponse)
def items(
    collection_id: CollectionId, request: Request, db: Db, who: Reader,
    bbox: str | None = None,
    bbox_crs: Annotated[str | None, Query(alias="bbox-crs")] = None,
    crs: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    district: str | None = None,
    state: str | None = None,
    class_: Annotated[str | None, Query(alias="class")] = None,
) -> JSONResponse:
    """Features of a collection, a page at a time (bbox, limit, offset; crs, bbox-crs)."""
    c = _get(collection_id)
    supported = _supported_crs(db)
    out_crs = _parse_crs(crs, supported, "crs")
    where: list[str] = []
    params: dict[str, Any] = {}
    for name, value in (("district", district), ("state", state), ("class", class_)):
        if value is None:
            continue
        column = c.filters.get(name)
        if column is None:
            raise BadInput(f"{name}: collection {c.id} has no such property to filter on")
        where.append(f"{column} = ANY(:{name})")
        params[name] = value.split(",")
    if bbox:
        lon1, lat1, lon2, lat2 = _bbox(bbox, _parse_crs(bbox_crs, supported, "bbox-crs"))
        where.append(f"{c.geom} && ST_MakeEnvelope(:x1, :y1, :x2, :y2, 4490)")
        params |= {"x1": lon1, "y1": lat1, "x2": lon2, "y2": lat2}
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
    links = _links(request, None)
    links[0]["type"] = GEOJSON
    if offset + len(rows) < matched:
        links.append({"href": str(request.url.include_query_params(offset=offset + limit)),
                      "rel": "next", "type": GEOJSON})
    if offset > 0:
        links.append({"href": str(request.url.include_query_params(
            offset=max(0, offset - limit))), "rel": "prev", "type": GEOJSON})
    body = {"type": "FeatureCollection",
            "features": [_feature(r, g) for r, g in zip(rows, geoms, strict=True)],
            "numberMatched": matched, "numberReturned": len(rows), "links": links}
    return JSONResponse(body, media_type=GEOJSON, headers={"Content-Crs": f"<{out_crs}>"})


@router.get("/collections/{collection_id}/items/{feature_id}", response_class=JSONResponse)
def item(collection_id: CollectionId, feature_id: str, request: Request, db: Db, who: Reader,
         crs: str | None = None) -> JSONResponse:
    """One feature."""
    c = _get(collection_id)
    out_crs = _parse_crs(crs, _supported_crs(db), "crs")
    row = db.execute(sa.text(f"{c.select()} AND {c.id_column} = :id"),
                     {"id": feature_id}).first()
    if row is None:
        raise NotFound(f"no feature {feature_id!r} in {c.id}")
    geom = _to_crs(np.asarray([shapely.from_wkb(bytes(row.wkb))], dtype=object), out_crs)[0]
    body = {**_feature(row, geom), "links": [
        {"href": str(request.url), "rel": "self", "type": GEOJSON},
        {"href": f"{_base(request)}/collections/{c.id}", "rel": "collection",
         "type": "application/json"}]}
    return JSONResponse(body, media_type=GEOJSON, headers={"Content-Crs": f"<{out_crs}>"})
