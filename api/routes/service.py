"""The service itself: liveness, the map page (and the OGC API landing page for clients that ask
for JSON), what the map needs to start, and an overview page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from api import pages
from api.auth import Forbidden
from api.deps import Db, Reader, Who
from api.ogcapi.query import wants_html
from api.routes.features import landing
from api.routes.lookup import json_response
from api.schemas import Health
from api.settings import MapSettings
from cases.limits import calendar_status
from census import catalog
from gis import crs as crsmod
from grid import store
from grid.codes import Scheme
from grid.districts import list_districts

health_router = APIRouter(tags=["service"])
router = APIRouter()
STATIC = Path(__file__).resolve().parent.parent / "static"


@health_router.get("/health", response_model=Health)
async def health() -> dict[str, str]:
    """Liveness; never touches the database."""
    return {"status": "ok"}


def _map_page(settings: MapSettings) -> Response:
    if not (settings.vendor_dir / "maplibre-gl" / "dist" / "maplibre-gl.js").exists():
        return HTMLResponse("<!doctype html><meta charset=utf-8><p>地图组件未安装：请运行 "
                            "<code>make setup</code>（npm ci 安装 maplibre-gl）。</p>",
                            status_code=503)
    return HTMLResponse((STATIC / "map.html").read_text("utf-8"))


# npm package → its folder served at /vendor/<package> (the map's, the documentation pages')
VENDOR = {"maplibre-gl": "dist", "chart.js": "dist", "swagger-ui-dist": ".", "redoc": "bundles"}


def mount_static(app: FastAPI, settings: MapSettings) -> None:
    """The map's own files and the front-end libraries npm installed (no CDN)."""
    from fastapi.staticfiles import StaticFiles

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for package, folder in VENDOR.items():
        vendor = settings.vendor_dir / package / folder
        if vendor.exists():
            app.mount(f"/vendor/{package}", StaticFiles(directory=vendor), name=package)


@router.get("/", include_in_schema=False)
def root(request: Request, f: str | None = None) -> Response:
    """The map for browsers (they send Accept: text/html) and `f=html`; for every other client
    the OGC API landing page in JSON, as OGC API – Features asks (owslib sends no Accept)."""
    if wants_html(request, f):
        return _map_page(request.app.state.context.settings)
    return json_response(landing(request))


@router.get("/map", response_class=HTMLResponse, include_in_schema=False)
def map_page(request: Request) -> Response:
    return _map_page(request.app.state.context.settings)


@router.get("/map/config.json", tags=["map"])
def map_config(request: Request, db: Db, who: Who) -> dict[str, Any]:
    """What the map page needs: the districts the token sees (every one without a token) with
    their extents and projected CRS, the component major classes of their schemes (the
    legend), who the token is, the optional base map and the calendar warning."""
    settings = request.app.state.context.settings
    districts = [d for d in list_districts(db) if who is None or who.sees(d.code)]
    schemes = sorted({d.scheme for d in districts})
    return {"districts": [{**d.to_dict(), "bbox": store.extent(db, d.code),
                           "projection": projection(d.crs)} for d in districts],
            "majors": {s.value: majors(db, s) for s in schemes},
            "me": None if who is None else {
                "name": who.name, "role": who.role, "post": who.post,
                "department": who.department, "districts": list(who.districts),
                "may_report": who.may("cases.write")},
            "base_map_url": settings.base_map_url,
            "base_map_attribution": settings.base_map_attribution,
            "calendar_warning": calendar_status(db)["warning"]}


def majors(db: Any, scheme: Scheme) -> dict[str, str]:
    """The component major classes of a scheme, by code (a legacy county's 05 is 房屋土地)."""
    return dict(sorted({(c.major_code, c.major_name or c.major_code)
                        for c in catalog.classes(db, scheme, "component").values()}))


def projection(crs: str | None) -> dict[str, Any] | None:
    """A district's transverse Mercator (Gauss-Krüger) parameters, for the map to show the
    cursor's projected coordinates without a round trip; None for another projection."""
    if not crs:
        return None
    parsed = crsmod.parse_crs(crs)
    op = parsed.coordinate_operation
    if op is None or op.method_name != "Transverse Mercator":
        return None
    value = {p.name: float(p.value) for p in op.params}
    ellipsoid = parsed.ellipsoid
    return {"lon_0": value.get("Longitude of natural origin", 0.0),
            "lat_0": value.get("Latitude of natural origin", 0.0),
            "k": value.get("Scale factor at natural origin", 1.0),
            "x_0": value.get("False easting", 0.0), "y_0": value.get("False northing", 0.0),
            "a": ellipsoid.semi_major_metre if ellipsoid else 6378137.0,
            "rf": ellipsoid.inverse_flattening if ellipsoid else 298.257222101,
            "name": crsmod.describe(parsed)}


@router.get("/health/detail", tags=["service"])
def health_detail(request: Request, db: Db, who: Reader) -> dict[str, Any]:
    """For an administrator: the calendar (a warning when next year's holidays are missing),
    the lookup index, the districts this process serves, the primary and the standbys, and
    the tile cache with its pre-rendering after imports. Unlike /health,
    it reads the database."""
    if not who.everywhere:
        raise Forbidden("服务详情仅供市管理员（city_admin）的令牌查看 "
                        "(the service's detail is for a city administrator's token)")
    lookups = request.app.state.lookups
    index = lookups.index
    served = request.app.state.served
    reads = request.app.state.context.reads()
    return {"status": "ok", "calendar": calendar_status(db),
            "index": {"ready": bool(index and index.ready.is_set()),
                      "districts": sorted(index.districts) if index else []},
            "served": sorted(served) if served is not None else None,
            "database": {"primary_up": reads.primary_up if reads else True,
                         "standbys": reads.status() if reads else []},
            "tiles": tiles_detail(request.app.state.tiles, request.app.state.prerender)}


def tiles_detail(cache: Any, prerender: Any) -> dict[str, Any]:
    status = prerender.status
    return {"cache": {"tiles": cache.count, "bytes": cache.bytes, "hits": cache.hits,
                      "misses": cache.misses},
            "prerender": {"zooms": list(prerender.zooms), "enabled": prerender.enabled,
                          "idle": prerender.idle(), "queued": list(status.queued),
                          "running": status.running, "runs": status.runs,
                          "last": status.last}}


@router.get("/overview", response_class=HTMLResponse, include_in_schema=False)
def overview(db: Db) -> str:
    return pages.index([(d, store.grid_count(db, d.code)) for d in list_districts(db)])
