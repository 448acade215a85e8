"""Districts, their hierarchy, grids and stored-grid QA."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import shapely
from fastapi import APIRouter, Query
from fastapi import Path as FastPath

from api.deps import Db, Importer, Reader
from api.schemas import DistrictDetail, DistrictOut, QaReportOut
from census import catalog
from grid import store
from grid.districts import get_district, list_districts
from grid.inspect import qa_stored
from onboarding.rejects import stored_rejects

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


@router.get("/districts/{code}/classes")
def classes(code: DistrictPath, db: Db, who: Reader) -> list[dict[str, Any]]:
    """The component and event classes of the district's scheme, for a class picker: kind,
    code, name and major class."""
    d = get_district(db, code)
    return [{"kind": kind, "code": c.code, "name": c.name, "major_code": c.major_code,
             "major_name": c.major_name, "national": c.national}
            for kind in ("component", "event")
            for c in sorted(catalog.classes(db, d.scheme, kind).values(), key=lambda c: c.code)]


@router.get("/districts/{code}/rejects")
def rejects(code: DistrictPath, db: Db, who: Importer) -> dict[str, Any]:
    """The rows the district's onboarding imports rejected, as a GeoJSON FeatureCollection
    (EPSG:4490; a row that had no shape has none): for its GIS staff to see on the map, with
    the original attributes, the feature id QGIS shows (`row`), the reason and its Chinese."""
    d = get_district(db, code)
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": f"{r['source']}:{r['row']}",
         "properties": {k: v for k, v in r.items() if k != "geom"},
         "geometry": None if r["geom"] is None else shapely.geometry.mapping(r["geom"])}
        for r in stored_rejects(db, d.code)]}
