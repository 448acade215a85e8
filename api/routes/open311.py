"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2) over citygrid's cases, in JSON
and XML (`requests.json`, `requests.xml`): public intake creates a case (source 公众); status is
open until a case is closed or void.

Service codes name a class with its kind, `event-0102` or `component-0101`, because a legacy
4-digit code can be both. `jurisdiction_id` is a district code. The caller's token comes as
`api_key` (query or form field) or `Authorization: Bearer` (`api.deps.open311_principal`).
Errors follow the GeoReport format (a list of {code, description}, `<errors>` in XML; 400, 403
or 404) rather than citygrid's own error body, because clients of the standard expect it;
`api.errors` renders them for every path under /open311/.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar

import sqlalchemy as sa
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from api.auth import Forbidden
from api.deps import Open311CatalogDb, Open311Creator, Open311Db, Open311WriteDb, caller
from api.georeport import FORMATS, MEDIA_TYPES, document, format_of, w3c
from api.operation import operation
from cases.intake import Report, report_case
from cases.tables import case_file
from census import catalog
from gis.errors import BadInput, NotFound
from gis.points import to_storage
from grid.codes import BadCode
from grid.districts import District, UnknownDistrict, get_district, list_districts
from lookup.result import OutsideCoverage


class Open311Error(BaseModel):
    code: int
    description: str


_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": list[Open311Error], "description": "GeoReport v2 error list (JSON or "
                                                         "XML <errors>)"}
    for status in (400, 403, 404, 503)}
router = APIRouter(prefix="/open311/v2", tags=["open311"], responses=_ERRORS)
MAX_REQUESTS = 1000
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# when what these routes answer last changed (discovery's changeset): move it with them
CHANGESET = "2026-12-01T00:00:00+08:00"
STATUS_NOTES = {"reported": "已上报", "accepted": "已受理", "filed": "已立案",
                "dispatched": "已派遣，处置中", "handled": "已处置，待核查",
                "checked": "核查通过，待结案", "closed": "已结案", "suspended": "已挂账",
                "void": "不予立案或已作废"}
# read by api.deps.open311_principal; declared so that the documentation shows it
ApiKey = Annotated[str | None, Query(description="citygrid 令牌 (a citygrid token), as "
                                                 "Authorization: Bearer would give it")]
Route = TypeVar("Route", bound=Callable[..., Any])


def _route(method: str, path: str, status_code: int = 200) -> Callable[[Route], Route]:
    """Serve a handler at `path.json` and `path.xml`: GeoReport names every endpoint in both
    formats, and the handler answers in the one its path names (`georeport.format_of`)."""
    def register(fn: Route) -> Route:
        for fmt in FORMATS:
            router.add_api_route(
                f"{path}.{fmt}", fn, methods=[method], status_code=status_code,
                name=f"{fn.__name__}_{fmt}", response_class=Response,
                responses={status_code: {"content": {MEDIA_TYPES[fmt]: {}}}})
        return fn
    return register


def _jurisdiction(db: Session, code: str | None) -> District | None:
    """The district a jurisdiction_id names, read through the caller's session, which row-level
    security confines to the districts the caller may see. A district the caller may not see is
    therefore as unknown as one that does not exist: 404 both, never 403, so that the answer
    does not tell a county whether another exists."""
    if code is None:
        return None
    try:
        return get_district(db, code)
    except (UnknownDistrict, BadCode):
        raise NotFound(f"未知的辖区 jurisdiction_id {code!r}，应为可见区县的代码，如 341802 "
                       f"(unknown jurisdiction {code!r})") from None


def _services(db: Session, district: District | None) -> dict[str, tuple[str, Any]]:
    """The services of a jurisdiction (or of every district the caller sees), by service code:
    (scheme, class)."""
    schemes = ([district.scheme.value] if district
               else sorted({d.scheme.value for d in list_districts(db)}))
    out: dict[str, tuple[str, Any]] = {}
    for scheme in schemes:
        for kind in ("event", "component"):
            for c in catalog.classes(db, scheme, kind).values():
                out.setdefault(f"{kind}-{c.code}", (scheme, c))
    return out


def _service(db: Session, district: District | None, code: str) -> tuple[str, str]:
    """(kind, class code) of a service code the jurisdiction offers; 404 for any other."""
    if code not in _services(db, district):
        raise NotFound(f"未知的服务代码 service_code {code!r}，见 services.json "
                       f"(unknown service_code {code!r}; see services.json)")
    kind, _, cls = code.partition("-")
    return kind, cls


@_route("GET", "/discovery")
def discovery(request: Request) -> Response:
    """Where this GeoReport v2 endpoint is, in what formats, and whom to ask for a key."""
    settings = request.app.state.context.settings
    url = str(request.base_url).rstrip("/") + router.prefix
    return document(format_of(request.url.path), "discovery", {
        "changeset": CHANGESET, "contact": settings.open311_contact,
        "key_service": settings.open311_key_service,
        "endpoints": [{"specification": SPECIFICATION, "url": url, "changeset": CHANGESET,
                       "type": "production",
                       "formats": [MEDIA_TYPES["json"], MEDIA_TYPES["xml"]]}]})


@_route("GET", "/services")
def services(request: Request, db: Open311CatalogDb, jurisdiction_id: str | None = None,
             api_key: ApiKey = None) -> Response:
    """The classes a request can be filed under."""
    out = []
    for code, (scheme, c) in _services(db, _jurisdiction(db, jurisdiction_id)).items():
        kind = code.partition("-")[0]
        out.append({
            "service_code": code, "service_name": c.name,
            "description": f"{c.major_name or ''} / {c.name}"
                           f"{'（部件问题）' if kind == 'component' else ''}",
            "metadata": False, "type": "realtime", "keywords": f"{scheme},{kind}",
            "group": c.major_name or ""})
    return document(format_of(request.url.path), "services", out)


@_route("GET", "/services/{service_code}")
def service_definition(request: Request, db: Open311CatalogDb, service_code: str,
                       jurisdiction_id: str | None = None, api_key: ApiKey = None) -> Response:
    """A service's extra attributes: none (every service has metadata false)."""
    _service(db, _jurisdiction(db, jurisdiction_id), service_code)
    return document(format_of(request.url.path), "service_definition",
                    {"service_code": service_code, "attributes": []})


def _point(lat: float | None, long: float | None) -> tuple[float, float]:
    """A request's point in the storage CRS, from WGS 84 latitude and longitude."""
    if lat is None or long is None:
        raise BadInput("lat 和 long 必填（仅有地址的请求不做地理编码） (lat and long are "
                       "required: address-only requests are not geocoded)")
    if not (-90 <= lat <= 90 and -180 <= long <= 180):
        raise BadInput(f"坐标 lat={lat}, long={long} 超出 WGS 84 的范围 "
                       f"(lat={lat}, long={long} is not a WGS 84 position)")
    x, y = to_storage(long, lat, "EPSG:4326")
    return float(x[0]), float(y[0])


@_route("POST", "/requests", status_code=201)
def create_request(
    request: Request, who: Open311Creator, db: Open311WriteDb,
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
    api_key: Annotated[str | None, Form(description="citygrid 令牌 (a citygrid token)")] = None,
) -> Response:
    """Create a service request (a case from the public)."""
    district = _jurisdiction(db, jurisdiction_id)
    kind, cls = _service(db, district, service_code)
    lon, lat_ = _point(lat, long)
    resolver = request.app.state.lookups.get()
    try:                            # whose point it is, before what is reported there
        where = resolver.resolve(lon, lat_).district.code
    except OutsideCoverage:
        raise BadInput(f"点 lat={lat}, long={long} 不在任何区县的网格内 "
                       f"(lat={lat}, long={long} lies in no grid of any district)") from None
    if not who.sees(where):
        raise Forbidden(f"该点位于区县 {where}，不在此 api_key 的辖区内 "
                        f"(the point lies in district {where}, outside this key's)")
    if district and where != district.code:
        raise BadInput(f"该点位于区县 {where}，不在辖区 {district.code} 内 "
                       f"(the point lies outside jurisdiction {district.code})")
    reporter = {k: v for k, v in (("first_name", first_name), ("last_name", last_name),
                                  ("email", email), ("phone", phone)) if v}
    with operation(db, caller(who), "case.report", district=where) as op:
        number, _ = report_case(db, resolver, Report(
            lon=lon, lat=lat_, class_code=cls, kind=kind,
            description=description or f"{service_code}（公众上报）", source="公众",
            address=address_string, media=[media_url] if media_url else [],
            reporter=reporter or None, person=who.name))
        op.subject, op.detail = number, {"via": "open311"}
    return document(format_of(request.url.path), "service_requests", [{
        "service_request_id": number, "service_notice": "已受理，将按数字城管流程立案处置",
        "account_id": None}], 201)


def _w3c(value: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"{name} {value!r} 不是 W3C 时间，如 2026-11-01T00:00:00Z "
                       f"({name} {value!r} is not a W3C datetime)") from None
    if parsed.tzinfo is None:
        raise BadInput(f"{name} {value!r} 须带时区，如 Z 或 +08:00 ({name} needs a time zone)")
    return parsed


def expected(row: Any) -> datetime | None:
    """When the request is expected to be done: the department's disposal (处置) deadline, once
    the case is dispatched (as extended; kept after disposal, as the promise that was made).
    None before dispatch (the 受理 and 立案 clocks are the centre's, not a promise to the
    public), after a return until dispatched again, while 挂账 (the deadline moves on resume)
    and for a void case."""
    return None if row.state in ("suspended", "void") else row.disposal_due_at


def _render(row: Any) -> dict[str, Any]:
    closed = row.state in ("closed", "void")
    due = expected(row)
    snap = row.snapshot or {}
    out = {
        "service_request_id": row.number, "status": "closed" if closed else "open",
        "status_notes": STATUS_NOTES[row.state],
        "service_name": row.class_name, "service_code": f"{row.kind}-{row.class_code}",
        "description": row.description,
        "agency_responsible": (snap.get("responsible") or {}).get("department"),
        "service_notice": None,
        "requested_datetime": w3c(row.reported_at),
        "updated_datetime": w3c(row.closed_at or row.updated_at),
        "expected_datetime": w3c(due),
        "address": row.address, "address_id": None, "zipcode": None,
        "lat": round(row.lat, 7), "long": round(row.lon, 7),
        "media_url": (row.media or [None])[0],
    }
    if due is None:                 # no promise yet: left out, rather than an empty time
        del out["expected_datetime"]
    return out


def _select() -> sa.Select[Any]:
    cols = [c for c in case_file.c if c.name not in ("reporter", "geom")]
    return sa.select(*cols, sa.func.ST_X(case_file.c.geom).label("lon"),
                     sa.func.ST_Y(case_file.c.geom).label("lat"))


def _status(stmt: sa.Select[Any], status: str) -> sa.Select[Any]:
    wanted = {s.strip() for s in status.split(",")}
    if not wanted <= {"open", "closed"}:
        raise BadInput(f"status {status!r} 应为 open、closed 或两者 (use open, closed or both)")
    if wanted == {"open"}:
        return stmt.where(case_file.c.state.not_in(["closed", "void"]))
    if wanted == {"closed"}:
        return stmt.where(case_file.c.state.in_(["closed", "void"]))
    return stmt


@_route("GET", "/requests")
def requests_(
    request: Request, db: Open311Db,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: Annotated[str | None, Query(description="open, closed or both")] = None,
    jurisdiction_id: str | None = None,
    api_key: ApiKey = None,
) -> Response:
    """Service requests of the token's districts (without a token: of districts that list their
    cases publicly): by id (which overrides the rest), or by code, dates and status."""
    district = _jurisdiction(db, jurisdiction_id)
    stmt = _select()
    if district:
        stmt = stmt.where(case_file.c.district_code == district.code)
    if service_request_id:
        ids = [i.strip() for i in service_request_id.split(",") if i.strip()]
        stmt = stmt.where(case_file.c.district_code.in_({i[:6] for i in ids}),
                          case_file.c.number.in_(ids))
    else:
        end = _w3c(end_date, "end_date") if end_date else datetime.now().astimezone()
        start = _w3c(start_date, "start_date") if start_date else end - timedelta(days=90)
        if end - start > timedelta(days=90):
            raise BadInput("start_date 到 end_date 不能超过 90 天 "
                           "(start_date to end_date may not span more than 90 days)")
        stmt = stmt.where(case_file.c.reported_at >= start, case_file.c.reported_at <= end)
        if service_code:
            pairs = [_service(db, district, c.strip()) for c in service_code.split(",")]
            stmt = stmt.where(sa.or_(*[sa.and_(case_file.c.kind == k,
                                               case_file.c.class_code == c)
                                       for k, c in pairs]))
        if status:
            stmt = _status(stmt, status)
    rows = db.execute(stmt.order_by(case_file.c.reported_at.desc()).limit(MAX_REQUESTS))
    return document(format_of(request.url.path), "service_requests", [_render(r) for r in rows])


@_route("GET", "/requests/{request_id}")
def one_request(request: Request, request_id: str, db: Open311Db,
                jurisdiction_id: str | None = None, api_key: ApiKey = None) -> Response:
    """One service request (a token's districts; without a token, only districts that list
    their cases publicly)."""
    district = _jurisdiction(db, jurisdiction_id)
    row = db.execute(_select().where(case_file.c.district_code == request_id[:6],
                                     case_file.c.number == request_id)).first()
    if row is None or (district and row.district_code != district.code):
        raise NotFound(f"没有服务请求 {request_id} (no service request {request_id})")
    return document(format_of(request.url.path), "service_requests", [_render(row)])
