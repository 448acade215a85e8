"""The HTTP API: `create_app(settings)` builds it; routes parse, call one domain function,
render."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import orjson
import shapely
import sqlalchemy as sa
from fastapi import Body, FastAPI, Query, Request
from fastapi import Path as FastPath
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response

from api import errors, pages
from api.auth import Authenticator, Principal, RateLimiter, Unauthorized
from api.bulk import parse_points
from api.cases import router as cases_router
from api.context import Context
from api.deps import (
    Caller,
    Db,
    Reader,
    anonymous_sees,
    lookup_caller,
    principal,
    public_answer,
)
from api.features import landing
from api.features import router as features_router
from api.imports import router as imports_router
from api.open311 import router as open311_router
from api.schemas import (
    BulkOut,
    DistrictDetail,
    DistrictOut,
    ErrorBody,
    Health,
    LookupOut,
    QaReportOut,
)
from api.search import router as search_router
from api.settings import Settings
from api.tiles import TileCache
from api.tiles import router as tiles_router
from gis.db import resolve_url
from gis.points import point_to_storage
from grid import store
from grid.districts import get_district, list_districts
from grid.inspect import qa_stored
from lookup.bulk import resolve_many
from lookup.result import OutsideCoverage
from lookup.service import LookupService

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "bad input"}, 404: {"model": ErrorBody},
    503: {"model": ErrorBody}}
INDEX_WAIT_S = 60.0
DistrictPath = Annotated[str, FastPath(pattern=r"^[0-9]{6}$", description="GB/T 2260 code")]
Kind = Literal["component", "event"]
KINDS = ("component", "event")

# GET /lookup's query, as documented (the route reads it itself: see `lookup`)
LOOKUP_PARAMETERS: list[dict[str, Any]] = [
    {"name": "lon", "in": "query", "required": True, "schema": {"type": "number"},
     "description": "Longitude, or x in a projected crs"},
    {"name": "lat", "in": "query", "required": True, "schema": {"type": "number"},
     "description": "Latitude, or y in a projected crs"},
    {"name": "crs", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "EPSG:4490 (default), EPSG:4326, any EPSG code, or gcj02 / bd09 (AMap, "
                    "Tencent, Baidu)"},
    {"name": "class", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "Component or event class code of the district's scheme"},
    {"name": "kind", "in": "query", "required": False,
     "schema": {"type": "string", "enum": list(KINDS)},
     "description": "component or event: settles a legacy code that is both (default: "
                    "component)"},
]


def _invalid(name: str, message: str) -> RequestValidationError:
    """A query parameter's error, reported as FastAPI's own are (400 bad_request)."""
    return RequestValidationError([{"loc": ("query", name), "msg": message,
                                    "type": "value_error"}])


def _number(query: Mapping[str, str], name: str) -> float:
    raw = query.get(name)
    if raw is None:
        raise _invalid(name, "Field required")
    try:
        return float(raw.strip())
    except ValueError:
        raise _invalid(name, "Input should be a valid number, unable to parse string as a "
                       "number") from None
log = logging.getLogger("citygrid.api")


def _json(data: Any, status: int = 200) -> Response:
    # Rendered here rather than through response_model validation, and by orjson (a tenth of
    # json.dumps's time, the same text for these answers): the lookup is the hot path.
    return Response(orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS), status_code=status,
                    media_type="application/json")


STATIC = Path(__file__).resolve().parent / "static"


def _map_page(settings: Settings) -> Response:
    if not (settings.vendor_dir / "maplibre-gl" / "dist" / "maplibre-gl.js").exists():
        return HTMLResponse("<!doctype html><meta charset=utf-8><p>地图组件未安装：请运行 "
                            "<code>make setup</code>（npm ci 安装 maplibre-gl）。</p>",
                            status_code=503)
    return HTMLResponse((STATIC / "map.html").read_text("utf-8"))


def _mount_static(app: FastAPI, settings: Settings) -> None:
    from fastapi.staticfiles import StaticFiles

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    vendor = settings.vendor_dir / "maplibre-gl" / "dist"
    if vendor.exists():
        app.mount("/vendor/maplibre-gl", StaticFiles(directory=vendor), name="maplibre")


def create_app(settings: Settings, context: Context | None = None) -> FastAPI:
    ctx = context or Context(settings)
    tiles = TileCache(settings.tile_cache_mb * 1024**2, settings.tile_cache_max_age_s)
    lookups = LookupService(ctx.engine, settings,
                            lambda: resolve_url(ctx.settings, start=False),
                            on_change=[tiles.changed])

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        lookups.start()
        yield
        lookups.stop()

    app = FastAPI(title="citygrid", version="0.1.0", responses=ERRORS, lifespan=lifespan,
                  description="Unit grids, component census and responsibility for 数字城管.")
    app.state.context = ctx
    app.state.lookups = lookups
    app.state.tiles = tiles
    app.state.auth = Authenticator(ctx.engine)
    limiter = RateLimiter(settings.lookup_rate_per_minute)
    errors.install(app)

    def throttle(request: Request, who: Principal | None, n: int = 1) -> None:
        client = request.client.host if request.client else "-"
        key = f"token:{who.token_id}" if who else f"ip:{client}"
        limiter.take(key, n)
    # The two hot routes first: a request is matched against the routes in order.
    @app.get("/health", response_model=Health, tags=["service"])
    async def health() -> dict[str, str]:
        """Liveness; never touches the database."""
        return {"status": "ok"}

    @app.get("/lookup", tags=["lookup"], response_model=LookupOut,
             responses={404: {"model": ErrorBody, "description": "outside every grid"}},
             openapi_extra={"parameters": LOOKUP_PARAMETERS})
    async def lookup(request: Request) -> Response:
        """Who is responsible for this point: grid, community, street, nearest component of the
        class, responsible party and the rule that decided it."""
        # The hot path, kept lean: the query is read here rather than by FastAPI's parameter
        # machinery (a third of a lookup's time), with the same checks and messages, and it runs
        # on the event loop: the index is in memory and one lookup takes tens of microseconds,
        # less than a trip through the threadpool would cost.
        q = request.query_params
        lon, lat = _number(q, "lon"), _number(q, "lat")
        crs, class_ = q.get("crs") or None, q.get("class") or None
        kind = q.get("kind") or None
        if kind is not None and kind not in KINDS:
            raise _invalid("kind", f"Input should be {' or '.join(map(repr, KINDS))}")
        who = await lookup_caller(request, await principal(request))
        throttle(request, who)
        x, y = point_to_storage(lon, lat, crs)
        resolver = lookups.ready()
        if resolver is None:      # still loading: wait for it off the event loop
            resolver = await run_in_threadpool(lookups.get)
        answer = resolver.resolve(x, y, class_, kind)
        code = answer.district.code
        if who is None:
            if not anonymous_sees(settings, code):
                raise Unauthorized("lookups here need a token: Authorization: Bearer <token>")
            return _json(public_answer(answer.to_dict()))
        if not who.sees(code):
            raise OutsideCoverage(f"point ({lon}, {lat}) lies outside the districts of this "
                                  "token")
        return _json(answer.to_dict())

    for router in (cases_router, open311_router, tiles_router, features_router, search_router,
                   imports_router):
        app.include_router(router)
    _mount_static(app, settings)

    @app.get("/", include_in_schema=False)
    def root(request: Request, f: str | None = None) -> Response:
        """The map for browsers; the OGC API landing page for clients that ask for JSON."""
        accept = request.headers.get("accept", "")
        if f == "json" or ("json" in accept and "text/html" not in accept):
            return _json(landing(request))
        return _map_page(settings)

    @app.get("/map", response_class=HTMLResponse, include_in_schema=False)
    def map_page() -> Response:
        return _map_page(settings)

    @app.get("/map/config.json", tags=["map"])
    def map_config(db: Db) -> dict[str, Any]:
        """What the map page needs: districts with their extents, the optional base map."""
        out = []
        for d in list_districts(db):
            box = db.execute(sa.text(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT "
                "ST_Extent(geom) AS e FROM grid WHERE district_code = :d AND valid_to IS NULL)"
                " x"), {"d": d.code}).first()
            out.append({**d.to_dict(), "bbox": list(box) if box and box[0] else None})
        return {"districts": out, "base_map_url": settings.base_map_url,
                "base_map_attribution": settings.base_map_attribution}

    @app.get("/overview", response_class=HTMLResponse, include_in_schema=False)
    def overview(db: Db) -> str:
        rows = [(d, store.grid_count(db, d.code)) for d in list_districts(db)]
        return pages.index(rows)

    @app.get("/districts", response_model=list[DistrictOut], tags=["grids"])
    def districts(db: Db, who: Reader) -> list[dict[str, Any]]:
        """Registered districts with their current grid counts."""
        return [{**d.to_dict(), "grids": store.grid_count(db, d.code)} for d in list_districts(db)]

    @app.get("/districts/{code}", response_model=DistrictDetail, tags=["grids"])
    def district(code: DistrictPath, db: Db, who: Reader) -> dict[str, Any]:
        """A district with its streets and communities."""
        d = get_district(db, code)
        return {**d.to_dict(), "grids": store.grid_count(db, d.code),
                "streets": store.hierarchy(db, d.code)}

    @app.get("/districts/{code}/grids", tags=["grids"])
    def grids(code: DistrictPath, db: Db, who: Reader,
              at: Annotated[datetime | None, Query(description="The grid set as it was at this "
                                                   "moment (ISO 8601); default: now")] = None
              ) -> dict[str, Any]:
        """The district's grids as a GeoJSON FeatureCollection (EPSG:4490 coordinates)."""
        d = get_district(db, code)
        features = [{
            "type": "Feature", "id": g.code,
            "properties": {"code": g.code, "street_code": g.street_code,
                           "community_code": g.community_code, "area_m2": round(g.area_m2, 2)},
            "geometry": shapely.geometry.mapping(g.geom)}
            for g in store.current_grids(db, d.code, at)]
        return {"type": "FeatureCollection", "features": features}

    @app.post("/lookup", tags=["lookup"], response_model=BulkOut,
              responses={413: {"model": ErrorBody, "description": "too many points"}})
    def lookup_many(
        request: Request, who: Caller,
        body: Annotated[Any, Body(description="A JSON list of {lon, lat, crs?, class?} or "
                                  "[lon, lat], or a GeoJSON FeatureCollection of points",
                                  examples=[[{"lon": 118.7585, "lat": 30.942, "class": "0101"},
                                             [118.76, 30.94]]])],
        crs: Annotated[str | None, Query(description="CRS of points that name none")] = None,
        class_: Annotated[str | None, Query(alias="class", description="Class of points "
                                            "that name none")] = None,
        kind: Annotated[Kind | None, Query(description="Kind of points that name none")] = None,
    ) -> Response:
        """Many lookups in one call (up to 100,000 points), answered in the order given; a point
        outside every grid gets an error object in its place."""
        lon, lat, classes, kinds = parse_points(body, default_crs=crs, default_class=class_,
                                                default_kind=kind,
                                                limit=settings.max_bulk_points)
        throttle(request, who, max(1, len(lon) // 1000))
        answer = resolve_many(lookups.get(), lon, lat, classes, kinds)
        if who is None:
            seen = [c for c in {str(c) for c in answer.district if c is not None}
                    if anonymous_sees(settings, c)]
            answer.grid[~np.isin(answer.district.astype(str), seen)] = -1
        elif not who.everywhere:
            outside = ~np.isin(answer.district.astype(str), list(who.districts))
            answer.grid[outside] = -1      # another county's point is outside this token's reach
        results = [answer.item(i) for i in range(len(answer))]
        if who is None:
            results = [r if "error" in r else public_answer(r) for r in results]
        located = int((answer.grid >= 0).sum())
        return _json({"count": len(results), "located": located, "results": results})

    @app.get("/districts/{code}/qa", response_model=QaReportOut, tags=["grids"])
    def district_qa(code: DistrictPath, db: Db, who: Reader) -> dict[str, Any]:
        """Topology QA of the district's stored grids."""
        return qa_stored(db, code).to_dict()

    return app
