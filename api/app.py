"""The HTTP API: `create_app(settings)` builds it; routes parse, call one domain function,
render."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

import shapely
from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from api import errors, pages
from api.context import Context
from api.schemas import DistrictDetail, DistrictOut, ErrorBody, Health, QaReportOut
from gis.settings import Settings
from grid import store
from grid.districts import get_district, list_districts
from grid.inspect import qa_stored

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody}, 422: {"model": ErrorBody}, 503: {"model": ErrorBody}}


def session(request: Request) -> Iterator[Session]:
    """One session per request, on the app's one engine."""
    engine = request.app.state.context.engine()
    with Session(engine) as s:
        yield s


Db = Annotated[Session, Depends(session)]


def create_app(settings: Settings, context: Context | None = None) -> FastAPI:
    ctx = context or Context(settings)
    app = FastAPI(title="citygrid", version="0.1.0", responses=ERRORS,
                  description="Unit grids, component census and responsibility for 数字城管.")
    app.state.context = ctx
    errors.install(app)

    @app.get("/health", response_model=Health, tags=["service"])
    def health() -> dict[str, str]:
        """Liveness; never touches the database."""
        return {"status": "ok"}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index(db: Db) -> str:
        rows = [(d, store.grid_count(db, d.code)) for d in list_districts(db)]
        return pages.index(rows)

    @app.get("/districts", response_model=list[DistrictOut], tags=["grids"])
    def districts(db: Db) -> list[dict[str, Any]]:
        """Registered districts with their current grid counts."""
        return [{**d.to_dict(), "grids": store.grid_count(db, d.code)} for d in list_districts(db)]

    @app.get("/districts/{code}", response_model=DistrictDetail, tags=["grids"])
    def district(code: str, db: Db) -> dict[str, Any]:
        """A district with its streets and communities."""
        d = get_district(db, code)
        return {**d.to_dict(), "grids": store.grid_count(db, d.code),
                "streets": store.hierarchy(db, d.code)}

    @app.get("/districts/{code}/grids", tags=["grids"])
    def grids(code: str, db: Db,
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

    @app.get("/districts/{code}/qa", response_model=QaReportOut, tags=["grids"])
    def district_qa(code: str, db: Db) -> dict[str, Any]:
        """Topology QA of the district's stored grids."""
        return qa_stored(db, code).to_dict()

    return app
