"""Districts, their hierarchy, grids and stored-grid QA."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import shapely
from fastapi import APIRouter, Query
from fastapi import Path as FastPath

from api.deps import Db, Reader
from api.schemas import DistrictDetail, DistrictOut, QaReportOut
from grid import store
from grid.districts import get_district, list_districts
from grid.inspect import qa_stored

router = APIRouter(tags=["grids"])
DistrictPath = Annotated[str, FastPath(pattern=r"^[0-9]{6}$", description="GB/T 2260 code")]


@router.get("/districts", response_model=list[DistrictOut])
def districts(db: Db, who: Reader) -> list[dict[str, Any]]:
    """Registered districts with their current grid counts."""
    return [{**d.to_dict(), "grids": store.grid_count(db, d.code)} for d in list_districts(db)]


@router.get("/districts/{code}", response_model=DistrictDetail)
def district(code: DistrictPath, db: Db, who: Reader) -> dict[str, Any]:
    """A district with its streets and communities."""
    d = get_district(db, code)
    return {**d.to_dict(), "grids": store.grid_count(db, d.code),
            "streets": store.hierarchy(db, d.code)}


@router.get("/districts/{code}/grids")
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


@router.get("/districts/{code}/qa", response_model=QaReportOut)
def district_qa(code: DistrictPath, db: Db, who: Reader) -> dict[str, Any]:
    """Topology QA of the district's stored grids."""
    return qa_stored(db, code).to_dict()
