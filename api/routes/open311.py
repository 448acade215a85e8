"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2), JSON format, over citygrid's
cases: public intake creates a case (source 公众); status is open until a case is closed or void.

Service codes name a class with its kind, `event-0102` or `component-0101`, because a legacy
4-digit code can be both. `jurisdiction_id` is a district code. Errors follow the GeoReport
format (a list of {code, description}) rather than citygrid's own error body, because clients of
the standard expect it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from api.auth import Forbidden
from api.deps import Db, Open311Creator, Open311Db, PublicDb, caller
from api.operation import operation
from cases.intake import Report, report_case
from cases.store import due_at
from cases.tables import case_file
from census import catalog
from gis.errors import BadInput, CitygridError
from gis.points import to_storage
from grid.districts import get_district, list_districts


class Open311Error(BaseModel):
    code: int
    description: str


_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": list[Open311Error], "description": "GeoReport v2 error list"}
    for status in (400, 401, 403, 404, 503)}
router = APIRouter(prefix="/open311/v2", tags=["open311"], responses=_ERRORS)
MAX_REQUESTS = 1000
STATUS_NOTES = {"reported": "已上报", "accepted": "已受理", "filed": "已立案",
                "dispatched": "已派遣，处置中", "handled": "已处置，待核查",
                "checked": "核查通过，待结案", "closed": "已结案", "suspended": "已挂账",
                "void": "不予立案或已作废"}


def _error(status: int, description: str) -> JSONResponse:
    return JSONResponse([{"code": status, "description": description}], status_code=status)


def _guard(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except CitygridError as exc:
        return _error(exc.status, exc.message)


def _schemes(db: Session, jurisdiction_id: str | None) -> list[str]:
    if jurisdiction_id:
        return [get_district(db, jurisdiction_id).scheme.value]
    return sorted({d.scheme.value for d in list_districts(db)})


def parse_service_code(code: str) -> tuple[str, str]:
    kind, sep, cls = code.partition("-")
    if not sep or kind not in ("event", "component") or not cls.isdigit():
        raise BadInput(f"service_code {code!r} is not like event-0102 or component-0101")
    return kind, cls


@router.get("/services.json")
def services(db: PublicDb, jurisdiction_id: str | None = None) -> Any:
    """The classes a request can be filed under."""
    def run() -> list[dict[str, Any]]:
        out = []
        for scheme in _schemes(db, jurisdiction_id):
            for kind in ("event", "component"):
                for c in catalog.classes(db, scheme, kind).values():
                    out.append({
                        "service_code": f"{kind}-{c.code}", "service_name": c.name,
                        "description": f"{c.major_name or ''} / {c.name}"
                                       f"{'（部件问题）' if kind == 'component' else ''}",
                        "metadata": False, "type": "realtime",
                        "keywords": f"{scheme},{kind}", "group": c.major_name or ""})
        return out
    return _guard(run)


@router.post("/requests.json", status_code=201)
def create_request(
    request: Request, db: Db, who: Open311Creator,
    service_code: Annotated[str, Form()],
    lat: Annotated[float | None, Form()] = None,
    long: Annotated[float | None, Form()] = None,
    address_string: Annotated[str | None, Form()] = None,
    description: Annotated[str | None, Form()] = None,
    email: Annotated[str | None, Form()] = None,
    first_name: Annotated[str | None, Form()] = None,
    last_name: Annotated[str | None, Form()] = None,
    phone: Annotated[str | None, Form()] = None,
    media_url: Annotated[str | None, Form()] = None,
    jurisdiction_id: Annotated[str | None, Form()] = None,
) -> Any:
    """Create a service request (a case from the public)."""
    def run() -> Any:
        kind, cls = parse_service_code(service_code)
        if lat is None or long is None:
            return _error(400, "lat and long are required (address-only requests are not "
                               "geocoded)")
        x, y = to_storage(long, lat, "EPSG:4326")
        resolver = request.app.state.lookups.get()
        where = resolver.resolve(float(x[0]), float(y[0]), cls, kind).district.code
        if not who.sees(where):
            raise Forbidden(f"the point lies in district {where}, outside this token's")
        if jurisdiction_id and where != jurisdiction_id:
            return _error(400, f"the point lies outside jurisdiction {jurisdiction_id}")
        reporter = {k: v for k, v in (("first_name", first_name), ("last_name", last_name),
                                      ("email", email), ("phone", phone)) if v}
        with operation(db, caller(who), "case.report", district=where) as op:
            number, _ = report_case(db, resolver, Report(
                lon=float(x[0]), lat=float(y[0]), class_code=cls, kind=kind,
                description=description or f"{service_code}（公众上报）", source="公众",
                address=address_string, media=[media_url] if media_url else [],
                reporter=reporter or None, person=who.name))
            op.subject, op.detail = number, {"via": "open311"}
        return [{"service_request_id": number,
                 "service_notice": "已受理，将按数字城管流程立案处置", "account_id": None}]
    return _guard(run)


def _w3c(value: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"{name} {value!r} is not a W3C datetime such as "
                       "2026-11-01T00:00:00Z") from None
    if parsed.tzinfo is None:
        raise BadInput(f"{name} {value!r} needs a time zone")
    return parsed


def _render(row: Any) -> dict[str, Any]:
    closed = row.state in ("closed", "void")
    updated = row.closed_at or row.updated_at
    due = due_at(row)
    snap = row.snapshot or {}
    return {
        "service_request_id": row.number, "status": "closed" if closed else "open",
        "status_notes": STATUS_NOTES[row.state],
        "service_name": row.class_name, "service_code": f"{row.kind}-{row.class_code}",
        "description": row.description,
        "agency_responsible": (snap.get("responsible") or {}).get("department"),
        "service_notice": None,
        "requested_datetime": row.reported_at.isoformat(),
        "updated_datetime": updated.isoformat() if updated else None,
        "expected_datetime": due.isoformat() if due else None,
        "address": row.address, "address_id": None, "zipcode": None,
        "lat": round(row.lat, 7), "long": round(row.lon, 7),
        "media_url": (row.media or [None])[0],
    }


def _select() -> sa.Select[Any]:
    cols = [c for c in case_file.c if c.name not in ("reporter", "geom")]
    return sa.select(*cols, sa.func.ST_X(case_file.c.geom).label("lon"),
                     sa.func.ST_Y(case_file.c.geom).label("lat"))


@router.get("/requests.json")
def requests_(
    db: Open311Db,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: Annotated[str | None, Query(description="open, closed or both")] = None,
    jurisdiction_id: str | None = None,
) -> Any:
    """Service requests of the token's districts (without a token: of districts that list their
    cases publicly): by id (which overrides the rest), or by code, dates and status."""
    def run() -> Any:
        stmt = _select()
        if service_request_id:
            ids = [i.strip() for i in service_request_id.split(",") if i.strip()]
            stmt = stmt.where(case_file.c.district_code.in_({i[:6] for i in ids}),
                              case_file.c.number.in_(ids))
        else:
            end = _w3c(end_date, "end_date") if end_date else datetime.now().astimezone()
            start = _w3c(start_date, "start_date") if start_date else end - timedelta(days=90)
            if end - start > timedelta(days=90):
                raise BadInput("start_date to end_date may not span more than 90 days")
            stmt = stmt.where(case_file.c.reported_at >= start, case_file.c.reported_at <= end)
            if service_code:
                pairs = [parse_service_code(c.strip()) for c in service_code.split(",")]
                stmt = stmt.where(sa.or_(*[sa.and_(case_file.c.kind == k,
                                                   case_file.c.class_code == c)
                                           for k, c in pairs]))
            if status:
                wanted = {s.strip() for s in status.split(",")}
                if not wanted <= {"open", "closed"}:
                    raise BadInput(f"status {status!r}: use open, closed or both")
                if wanted == {"open"}:
                    stmt = stmt.where(case_file.c.state.not_in(["closed", "void"]))
                elif wanted == {"closed"}:
                    stmt = stmt.where(case_file.c.state.in_(["closed", "void"]))
            if jurisdiction_id:
                stmt = stmt.where(case_file.c.district_code == jurisdiction_id)
        rows = db.execute(stmt.order_by(case_file.c.reported_at.desc()).limit(MAX_REQUESTS))
        return [_render(r) for r in rows]
    return _guard(run)


@router.get("/requests/{request_id}.json")
def one_request(request_id: str, db: Open311Db) -> Any:
    """One service request (a token's districts; without a token, only districts that list
    their cases publicly)."""
    row = db.execute(_select().where(case_file.c.district_code == request_id[:6],
                                     case_file.c.number == request_id)).first()
    if row is None:
        return _error(404, f"no service request {request_id}")
    return [_render(row)]
