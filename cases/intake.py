"""Case intake: a report at a point is resolved on the spot, keeps a snapshot of the answer, gets
a readable number, and comes back with open cases it may duplicate."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from cases import limits
from cases.flow import OPEN_STATES
from cases.tables import case_counter, case_file
from cases.workflow import Actor, post_of, record
from cases.worktime import CST
from gis.errors import BadInput
from grid.districts import get_district
from lookup.resolve import Resolver

# source → the post that reports through it by default
SOURCES = {"监督员上报": "监督员", "12345热线": "受理员", "公众": "公众", "视频": "受理员"}
SOURCE_ALIASES = {"12345 热线": "12345热线", "12345": "12345热线", "hotline": "12345热线",
                  "supervisor": "监督员上报", "监督员": "监督员上报", "public": "公众",
                  "open311": "公众", "video": "视频", "视频监控": "视频"}


def source_of(text: str) -> str:
    key = text.strip()
    found = key if key in SOURCES else SOURCE_ALIASES.get(key) or SOURCE_ALIASES.get(key.lower())
    if found is None:
        raise BadInput(f"source：{text!r} 不是{'、'.join(SOURCES)}之一 "
                       f"(source {text!r} is not one of {', '.join(SOURCES)})")
    return found


@dataclass
class Report:
    lon: float                      # EPSG:4490
    lat: float
    class_code: str
    description: str
    source: str | None = None       # default: 监督员上报 from a 监督员 (or no post), else 12345热线
    kind: str | None = None
    address: str | None = None
    media: list[str] = field(default_factory=list)
    reporter: dict[str, Any] | None = None      # contact: private
    condition_no: int | None = None             # 立案条件, if the reporter knows it
    person: str | None = None       # who reports (default: the source)
    post: str | None = None         # the reporter's post (default: the source's)
    self_handled: bool = False      # 自行处置: a 监督员 fixed it on the spot


def report_case(session: Session, resolver: Resolver, report: Report,
                at: datetime | None = None, number: str | None = None
                ) -> tuple[str, list[dict[str, Any]]]:
    """Create a case (with `number`, when a history import gives one); return its number and
    the open cases it may duplicate (the caller commits)."""
    if not report.class_code:
        raise BadInput("class：案件须有部件或事件类别 (a case needs a component or event class)")
    if not report.description or not report.description.strip():
        raise BadInput("description：请描述问题 (describe the problem)")
    asked = post_of(report.post) if report.post else None
    source = source_of(report.source) if report.source else (
        "监督员上报" if asked in (None, "监督员") else "12345热线")
    post = asked or SOURCES[source]
    if source == "监督员上报" and report.post and post != "监督员":
        raise BadInput(f"来源“监督员上报”只能由监督员上报，{post}请选 12345热线、公众或视频 "
                       f"(a {post} does not report as 监督员上报)")
    if report.self_handled and post != "监督员":
        raise BadInput("自行处置只能由监督员上报 "
                       "(only a 监督员 reports a problem fixed on the spot)")
    answer = resolver.resolve(report.lon, report.lat, report.class_code, report.kind)
    district = get_district(session, answer.district.code)
    cls = answer.class_
    assert cls is not None                      # a class was asked for
    now = at or session.execute(sa.select(sa.func.now())).scalar_one()
    number = number or next_number(session, district.code, now)
    cals = limits.calendars(session)
    accept = limits.step_limit(session, district.code, "accept")
    due = None if report.self_handled or not accept else cals.duty.due(now, *accept)
    step = None if report.self_handled else "accept"
    state = "closed" if report.self_handled else "reported"
    session.execute(sa.insert(case_file).values(
        district_code=district.code, number=number, source=source, scheme=district.scheme.value,
        kind=cls.kind, class_code=cls.code, class_name=cls.name,
        description=report.description.strip(), address=report.address, media=report.media,
        reporter=report.reporter,
        geom=sa.func.ST_SetSRID(sa.func.ST_MakePoint(report.lon, report.lat), 4490),
        state=state, department=answer.responsible.department, snapshot=answer.to_dict(),
        grid_code=answer.grid, street_code=answer.street.code,
        community_code=answer.community.code, condition_no=report.condition_no,
        reported_at=now, step=step, step_started_at=now if step else None, step_due_at=due,
        self_handled=report.self_handled, closed_at=now if report.self_handled else None,
        updated_at=now))
    record(session, district.code, number, "report", None, state,
           Actor(post, (report.person or source).strip()), now,
           note=report.description.strip(), target=answer.responsible.department,
           next_step=step, next_due=due, next_holder="受理员" if step else None,
           detail={"basis": answer.responsible.basis, "source": source,
                   **({"self_handled": True} if report.self_handled else {})})
    return number, duplicates(session, district.code, district.scheme.value, cls.kind,
                              cls.code, report.lon, report.lat, now, exclude=number)


def next_number(session: Session, district_code: str, at: datetime) -> str:
    """341802-20261126-0001: unique per district and (China Standard Time) day."""
    day = at.astimezone(CST).date()
    stmt = insert(case_counter).values(district_code=district_code, day=day, last=1)
    upsert = stmt.on_conflict_do_update(
        index_elements=[case_counter.c.district_code, case_counter.c.day],
        set_={"last": case_counter.c.last + 1}).returning(case_counter.c.last)
    n = session.execute(upsert).scalar_one()
    return f"{district_code}-{day:%Y%m%d}-{n:04d}"


def duplicates(session: Session, district_code: str, scheme: str, kind: str, class_code: str,
               lon: float, lat: float, at: datetime, exclude: str | None = None
               ) -> list[dict[str, Any]]:
    """Open cases of the same class near the point, reported within the class's window."""
    radius, hours = limits.duplicate_window(session, district_code, scheme, kind, class_code)
    point = sa.func.ST_SetSRID(sa.func.ST_MakePoint(lon, lat), 4490)
    distance = sa.func.ST_Distance(sa.cast(case_file.c.geom, _geography()),
                                   sa.cast(point, _geography()))
    rows = session.execute(
        sa.select(case_file.c.number, case_file.c.state, case_file.c.reported_at,
                  case_file.c.description, distance.label("distance_m"))
        .where(case_file.c.district_code == district_code, case_file.c.kind == kind,
               case_file.c.class_code == class_code, case_file.c.state.in_(OPEN_STATES),
               case_file.c.reported_at >= at - timedelta(hours=hours),
               case_file.c.number != (exclude or ""),
               sa.func.ST_DWithin(sa.cast(case_file.c.geom, _geography()),
                                  sa.cast(point, _geography()), radius))
        .order_by(distance, case_file.c.reported_at)).all()
    return [{"number": r.number, "state": r.state, "reported_at": r.reported_at.isoformat(),
             "distance_m": round(float(r.distance_m), 1), "description": r.description}
            for r in rows]


def _geography() -> Any:
    from geoalchemy2 import Geography

    return Geography(srid=4490)
