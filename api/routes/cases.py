"""HTTP routes of cases: thin adapters over `cases.intake`, `cases.workflow` and `cases.store`,
each act in one `api.operation` (transaction and audit event)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Forbidden, Principal
from api.deps import CaseWriter, Db, Reader, caller, served
from api.operation import operation
from cases.flow import ACTIONS, CENTRE_POSTS
from cases.intake import Report, duplicates, report_case
from cases.media import photos
from cases.offers import offers
from cases.store import get_case, list_cases, parse_span
from cases.tables import case_file
from cases.workflow import Actor, RoleNotAllowed, apply, load_case, post_of
from gis.points import to_storage
from grid.districts import get_district
from lookup.rules import current_duties, current_zones

router = APIRouter()
MAX_OFFSET = 10_000_000


class ReporterIn(BaseModel):
    name: str | None = None
    phone: str | None = None
    email: str | None = None


class CaseIn(BaseModel):
    """A report: where, what, and how it came in."""

    lon: float
    lat: float
    crs: str | None = Field(None, description="EPSG:4490 (default), EPSG:4326, EPSG:xxxx, "
                                               "gcj02 or bd09")
    class_: str = Field(alias="class", description="Component or event class code")
    kind: Literal["component", "event"] | None = None
    description: str
    source: str | None = Field(None, description="监督员上报, 12345热线, 公众 or 视频 (default: "
                                                 "监督员上报 for a 监督员 or a token without a "
                                                 "post, 12345热线 for other posts)")
    address: str | None = None
    media: list[str] = Field(default_factory=list, description="References (URLs) to photos")
    reporter: ReporterIn | None = Field(None, description="Kept private")
    condition: int | None = Field(None, ge=1, le=32767,
                                  description="Filing condition (立案条件) number")
    self_handled: bool = Field(False, description="自行处置: a 监督员 fixed it on the spot; the "
                                                  "case is closed at once")
    post: str | None = Field(None, description="Not needed: the token's post. Naming another "
                                               "post is refused (403 role_not_allowed)")
    role: str | None = Field(None, description="The same as post (older clients)")
    actor: str | None = Field(None, description="Not needed: the token's person")

    model_config = ConfigDict(populate_by_name=True)


class TransitionIn(BaseModel):
    action: str = Field(description="; ".join(f"{a} {act.name}" for a, act in ACTIONS.items()),
                        json_schema_extra={"enum": list(ACTIONS)})
    note: str | None = None
    department: str | None = Field(None, description="dispatch: to whom; request_return: who "
                                                     "is responsible instead")
    extend_by: Any = Field(None, description='request_extend: "2 working_days", "4工作时" or '
                                             '{"value": 2, "unit": "working_days"}')
    reason: str | None = Field(None, description="request_extend, request_return, "
                                                 "request_suspend: why")
    satisfaction: Literal["满意", "基本满意", "不满意"] | None = Field(
        None, description="callback: the reporter's satisfaction")
    condition: int | None = Field(None, ge=1, le=32767, description="file: the 立案条件")
    post: str | None = Field(None, description="Not needed: the token's post. Naming another "
                                               "post is refused (403 role_not_allowed)")
    role: str | None = Field(None, description="The same as post (older clients)")
    actor: str | None = Field(None, description="Not needed: the token's person")


def acting(who: Principal, claimed_post: str | None, claimed_person: str | None,
           need_post: bool) -> Actor | None:
    """Who acts, from the token alone. A request that names another post or person is refused
    rather than believed; a token without a post takes no workflow step."""
    if claimed_post is not None and claimed_post.strip():
        post = post_of(claimed_post)
        if post != who.post:
            raise RoleNotAllowed(
                f"此令牌属于 {who.name}，岗位 {who.post or '无'}，不能以{post}身份办理 "
                f"(this token is {who.name}'s, post {who.post or 'none'}: it may not act as "
                f"{post})", detail={"post": who.post, "claimed": post})
    if claimed_person is not None and claimed_person.strip() \
            and claimed_person.strip() != who.name:
        raise RoleNotAllowed(f"此令牌属于 {who.name}，不能以 {claimed_person.strip()} 的名义办理 "
                             f"(this token is {who.name}'s: it may not act as "
                             f"{claimed_person.strip()})")
    if who.post is None:
        if need_post:
            raise RoleNotAllowed(f"令牌 {who.token_id}（{who.name}）未设岗位，不能办理案件流程；"
                                 "请申请带 --post 岗位的令牌 "
                                 f"(token {who.token_id}, {who.name}, holds no post and takes "
                                 "no step of the case workflow; ask for a token with --post)")
        return None
    return Actor(who.post, who.name, who.department)


def _resolver(request: Request) -> Any:
    return request.app.state.lookups.get()


@router.post("/cases", status_code=201, tags=["cases"])
def create_case(body: CaseIn, db: Db, who: CaseWriter,
                resolver: Annotated[Any, Depends(_resolver)]) -> dict[str, Any]:
    """Report a case: resolved on the spot, with the open cases it may duplicate."""
    reporter = acting(who, body.post or body.role, body.actor, need_post=False)
    x, y = to_storage(body.lon, body.lat, body.crs)
    where = resolver.resolve(float(x[0]), float(y[0]), body.class_, body.kind).district
    if not who.sees(where.code):
        raise Forbidden(f"该点位于区县 {where.code}，不在此令牌的区县内 "
                        f"(the point lies in district {where.code}, outside the districts of "
                        "this token)")
    with operation(db, caller(who), "case.report", district=where.code) as op:
        number, dups = report_case(db, resolver, Report(
            lon=float(x[0]), lat=float(y[0]), class_code=body.class_, kind=body.kind,
            description=body.description, source=body.source, address=body.address,
            media=body.media, reporter=body.reporter.model_dump() if body.reporter else None,
                condition_no=body.condition, person=who.name,
            post=reporter.post if reporter else None, self_handled=body.self_handled))
        op.subject = number
        op.detail = {"post": reporter.post if reporter else None, "person": who.name}
    return {**get_case(db, number), "duplicates": dups}


@router.get("/cases/events", tags=["cases"], response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}}})
async def case_events(request: Request, who: Reader) -> StreamingResponse:
    """Server-sent events: one `case` event each time a case the token sees changes (a new
    report, any step), as it commits — `data` is {district, number, seq, action, state,
    department, holder}. A comment every 15 s keeps the connection open."""
    if not who.everywhere:
        served(request, list(who.districts))     # another process's districts: 421
    return StreamingResponse(request.app.state.feed.stream(who),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/cases/duplicates", tags=["cases"])
def possible_duplicates(db: Db, who: Reader, resolver: Annotated[Any, Depends(_resolver)],
                        lon: float, lat: float, class_: Annotated[str, Query(alias="class")],
                        kind: Literal["component", "event"] | None = None,
                        crs: str | None = None) -> dict[str, Any]:
    """Before reporting: the open cases of the same class near the point, reported within the
    class's window (what a report would be told after the fact)."""
    x, y = to_storage(lon, lat, crs)
    answer = resolver.resolve(float(x[0]), float(y[0]), class_, kind)
    if not who.sees(answer.district.code) or answer.class_ is None:
        return {"duplicates": []}
    district = get_district(db, answer.district.code)
    now = db.execute(sa.select(sa.func.now())).scalar_one()
    return {"duplicates": duplicates(db, district.code, district.scheme.value, answer.class_.kind,
                                     answer.class_.code, float(x[0]), float(y[0]), now)}


@router.get("/cases/{number}", tags=["cases"])
def read_case(number: str, db: Db, who: Reader) -> dict[str, Any]:
    """A case with its full history, its clocks and its photos; the reporter's contact for
    the centre's posts (受理员, 值班长, 派遣员, 监督员) only."""
    out = get_case(db, number)
    out["photos"] = photos(db, out["district"], number)
    if who.post in CENTRE_POSTS:
        out["reporter"] = db.execute(sa.select(case_file.c.reporter).where(
            case_file.c.district_code == out["district"],
            case_file.c.number == number)).scalar()
    return out


@router.get("/cases/{number}/actions", tags=["cases"])
def case_offers(number: str, db: Db, who: Reader) -> dict[str, Any]:
    """The actions the token's person may take on the case now, with the fields of each form;
    nothing another post could do."""
    case = load_case(db, number)
    actor = Actor(who.post, who.name, who.department) if who.post else None
    now = db.execute(sa.select(sa.func.now())).scalar_one()
    names = sorted({d["department"] for d in current_duties(db, case.district_code).values()}
                   | {z["unit"] for z in current_zones(db, case.district_code)})
    return {"number": number, "post": who.post, "person": who.name,
            "actions": [o.to_dict() for o in offers(db, case, actor, now, names)]}


@router.post("/cases/{number}/transitions", tags=["cases"],
             responses={409: {"description": "not allowed in the case's state"},
                        403: {"description": "the role may not do this"}})
def transition(number: str, body: TransitionIn, db: Db, who: CaseWriter) -> dict[str, Any]:
    """Move a case along its workflow (立案, 派遣, 处置反馈, 核查, 返工, 退回, 延期 …) as the
    token's person and post."""
    actor = acting(who, body.post or body.role, body.actor, need_post=True)
    assert actor is not None
    with operation(db, caller(who), f"case.{body.action}", subject=number) as op:
        done = apply(db, number, body.action, actor, note=body.note,
                     department=body.department, extend_by=body.extend_by,
                     reason=body.reason, satisfaction=body.satisfaction,
                     condition_no=body.condition)
        op.district = done["district"]
        op.detail = {"post": actor.post, "person": actor.person,
                     "department": actor.department, "to": done["to"]}
    return get_case(db, number)


@router.get("/cases", tags=["cases"])
def cases_page(
    db: Db, who: Reader,
    district: str | None = None,
    state: Annotated[str | None, Query(description="one or more states, comma separated")] =
    None,
    class_: Annotated[str | None, Query(alias="class")] = None,
    overdue: bool = False,
    due_within: Annotated[str | None, Query(description="e.g. 2h: open cases due this soon")] =
    None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> dict[str, Any]:
    """A page of cases, newest first: by district, state, class, overdue, due soon."""
    items, total = list_cases(db, district=district, state=state, class_code=class_,
                              overdue=overdue,
                              due_within=parse_span(due_within) if due_within else None,
                              limit=limit, offset=offset)
    return {"total": total, "limit": limit, "offset": offset, "items": items}
