"""HTTP routes of cases and evaluation: thin adapters over `cases.intake`, `cases.workflow`,
`cases.store` and `cases.stats`."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Forbidden
from api.deps import CaseWriter, Db, Reader
from cases.intake import Report, report_case
from cases.resolve import to_storage
from cases.stats import stats
from cases.store import get_case, list_cases
from cases.workflow import apply
from gis.errors import BadInput
from gis.security import audit

router = APIRouter()


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
    source: str = Field("监督员上报", description="监督员上报, 12345热线, 公众 or 视频")
    address: str | None = None
    media: list[str] = Field(default_factory=list, description="References (URLs) to photos")
    reporter: ReporterIn | None = Field(None, description="Kept private")
    condition: int | None = Field(None, description="Filing condition (立案条件) number")
    actor: str | None = None
    role: str | None = None

    model_config = ConfigDict(populate_by_name=True)


class TransitionIn(BaseModel):
    action: Literal["file", "reject", "dispatch", "handle", "verify", "rework", "return",
                    "extend"]
    role: str = Field(description="监督员, 受理员, 值班长, 派遣员 or 专业部门")
    actor: str
    note: str | None = None
    department: str | None = Field(None, description="dispatch: to whom; return: who instead")
    extend_by: Any = Field(None, description='extend: {"value": 2, "unit": "working_days"} or '
                                             '"2 working_days"')
    condition: int | None = None


def _resolver(request: Request) -> Any:
    return request.app.state.lookups.get()


@router.post("/cases", status_code=201, tags=["cases"])
def create_case(body: CaseIn, db: Db, who: CaseWriter,
                resolver: Annotated[Any, Depends(_resolver)]) -> dict[str, Any]:
    """Report a case: resolved on the spot, with the open cases it may duplicate."""
    x, y = to_storage(body.lon, body.lat, body.crs)
    where = resolver.resolve(float(x[0]), float(y[0]), body.class_, body.kind)["district"]
    if not who.sees(where["code"]):
        raise Forbidden(f"the point lies in district {where['code']}, outside the districts of "
                        "this token")
    number, dups = report_case(db, resolver, Report(
        lon=float(x[0]), lat=float(y[0]), class_code=body.class_, kind=body.kind,
        description=body.description, source=body.source, address=body.address,
        media=body.media, reporter=body.reporter.model_dump() if body.reporter else None,
        condition_no=body.condition, actor=body.actor or who.actor, role=body.role))
    audit(db, district=number[:6], actor=who.actor, role=who.role, action="case.report",
          subject=number)
    db.commit()
    return {**get_case(db, number), "duplicates": dups}


@router.get("/cases/{number}", tags=["cases"])
def read_case(number: str, db: Db, who: Reader) -> dict[str, Any]:
    """A case with its full history."""
    return get_case(db, number)


@router.post("/cases/{number}/transitions", tags=["cases"],
             responses={409: {"description": "not allowed in the case's state"},
                        403: {"description": "the role may not do this"}})
def transition(number: str, body: TransitionIn, db: Db, who: CaseWriter) -> dict[str, Any]:
    """Move a case along its workflow (立案, 派遣, 处置反馈, 核查, 返工, 退回, 延期 …)."""
    done = apply(db, number, body.action, role=body.role, actor=body.actor, note=body.note,
                 department=body.department, extend_by=body.extend_by,
                 condition_no=body.condition)
    audit(db, district=number[:6], actor=who.actor, role=who.role, action=f"case.{body.action}",
          subject=number, detail={"as": body.role, "by": body.actor, "to": done["to"]})
    db.commit()
    return get_case(db, number)


_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d)\s*$")


def parse_span(text: str) -> timedelta:
    """'30m', '2h', '1d' or ISO 8601 'PT2H'."""
    m = _SPAN.match(text)
    if m:
        value, unit = float(m.group(1)), m.group(2)
        return {"m": timedelta(minutes=value), "min": timedelta(minutes=value),
                "h": timedelta(hours=value), "d": timedelta(days=value)}[unit]
    iso = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?", text.strip())
    if iso and any(iso.groups()):
        d, h, mi = (int(g or 0) for g in iso.groups())
        return timedelta(days=d, hours=h, minutes=mi)
    raise BadInput(f"due_within: {text!r} is not like 30m, 2h, 1d or PT2H")


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
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """A page of cases, newest first: by district, state, class, overdue, due soon."""
    items, total = list_cases(db, district=district, state=state, class_code=class_,
                              overdue=overdue,
                              due_within=parse_span(due_within) if due_within else None,
                              limit=limit, offset=offset)
    return {"total": total, "limit": limit, "offset": offset, "items": items}


@router.get("/stats", tags=["cases"])
def evaluation(db: Db, who: Reader, district: str, from_: Annotated[date, Query(alias="from")],
               to: date, by: Literal["district", "department", "grid", "street"] = "district"
               ) -> dict[str, Any]:
    """上报数, 立案数, 结案数, 按期结案数, 结案率, 按期结案率, 返工率, 退回数, overdue."""
    return stats(db, district, from_, to, by)

