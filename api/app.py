"""The HTTP API: `create_app(settings)` assembles the routes (`api.routes`), the error handlers,
the static files, the lookup service and the tile cache. It decides nothing itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from sqlalchemy.engine import Engine

from api import errors
from api.auth import Authenticator, RateLimiter
from api.context import Context
from api.deps import CommitPosition, district_served
from api.feed import CaseFeed
from api.ogcapi import openapi30
from api.prerender import Prerenderer
from api.routes import (
    case_media,
    cases,
    districts,
    docs,
    features,
    imports,
    lookup,
    open311,
    reports,
    search,
    service,
    stats,
    supervision,
    tiles,
)
from api.schemas import ErrorBody
from api.settings import Settings
from api.tiles import TileCache
from gis.db import resolve_url
from lookup.service import LookupService

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "bad input"}, 404: {"model": ErrorBody},
    421: {"model": ErrorBody, "description": "district_not_served: another process serves the "
          "district named (CITYGRID_DISTRICTS; the Citygrid-District header names it)"},
    503: {"model": ErrorBody}}


def create_app(settings: Settings, context: Context | None = None) -> FastAPI:
    ctx = context or Context(settings)
    tile_cache = TileCache(settings.tile_cache_mb * 1024**2, settings.tile_cache_max_age_s)

    def app_engine(districts: list[str]) -> Engine:
        reads = ctx.reads()
        return ctx.app_engine() if reads is None else reads.app_engine(districts)

    prerender = Prerenderer(tile_cache, ctx.read_engine, app_engine, settings.prerender_zooms)
    # The listeners hear the primary (standbys deliver no NOTIFY); the index loads from a
    # standby that has replayed what it heard of (gis.replicas).
    lookups = LookupService(ctx.engine, settings,
                            lambda: resolve_url(ctx.settings, start=False),
                            on_change=[tile_cache.changed, prerender.changed],
                            on_reload=[prerender.reloaded], reads=ctx.reads)

    feed = CaseFeed(lambda: resolve_url(ctx.settings, start=False), reads=ctx.reads)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        lookups.start()
        feed.start()
        prerender.start()
        yield
        prerender.stop()
        feed.stop()
        lookups.stop()

    # the documentation pages are citygrid's own (api.routes.docs): no CDN
    app = FastAPI(title="citygrid", version="0.1.0", responses=ERRORS, lifespan=lifespan,
                  description="Unit grids, component census and responsibility for 数字城管.",
                  docs_url=None, redoc_url=None,
                  # only where it can refuse: the lookup's hot path pays for every dependency
                  dependencies=[Depends(district_served)] if settings.served_districts else [])
    app.state.context = ctx
    app.state.served = settings.served_districts
    app.state.lookups = lookups
    app.state.feed = feed
    app.state.tiles = tile_cache
    app.state.prerender = prerender
    app.state.auth = Authenticator(ctx.engine, ctx.read_engine)
    app.state.limiter = RateLimiter(settings.lookup_rate_per_minute)
    errors.install(app)
    if settings.read_database_urls:
        app.add_middleware(CommitPosition)
    # the hot path's 200 answers without the framework. With CITYGRID_DISTRICTS too: the
    # parameters it answers name no district for `district_served` to refuse, and a point in a
    # district served elsewhere raises in the resolver, which hands the request to the route.
    app.add_middleware(lookup.LookupFastPath)
    # The two hot routes first: a request is matched against the routes in order.
    for router in (service.health_router, lookup.router, cases.router, case_media.router,
                   stats.router,
                   open311.router, tiles.router, features.router, search.router,
                   imports.router, reports.router, supervision.router, service.router,
                   districts.router, docs.router):
        app.include_router(router)
    service.mount_static(app, settings)
    openapi30.install(app)
    return app
