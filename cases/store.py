"""Reading cases: one case with its history, pages of cases, overdue and due soon. The reporter's
contact is private and never leaves through these functions."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from cases.tables import case_event, case_file
from cases.workflow import OPEN_STATES, STATE_NAMES, load_case
from gis.errors import BadInput

PUBLIC = [c for c in case_file.c if c.name not in ("reporter", "geom")]


def due_at(row: Any) -> datetime | None:
    """The deadline of the clock that runs now: the department's while dispatched, the
    centre's own otherwise."""
    if row.state == "dispatched":
        return row.disposal_due_at
    if row.state in OPEN_STATES:
        return row.step_due_at
    return None


def render(row: Any, now: datetime) -> dict[str, Any]:
    due = due_at(row)

    def iso(v: datetime | None) -> str | None:
        return v.isoformat() if v else None

    return {
        "number": row.number, "district": row.district_code, "state": row.state,
        "state_name": STATE_NAMES[row.state], "source": row.source,
        "class": {"code": row.class_code, "name": row.class_name, "kind": row.kind},
        "description": row.description, "address": row.address, "media": row.media,
        "point": {"lon": round(row.lon, 7), "lat": round(row.lat, 7)},
        "department": row.department, "snapshot": row.snapshot,
        "grid": row.grid_code, "street": row.street_code, "community": row.community_code,
        "condition_no": row.condition_no, "stage_no": row.stage_no,
        "reported_at": iso(row.reported_at), "filed_at": iso(row.filed_at),
        "dispatched_at": iso(row.dispatched_at), "handled_at": iso(row.handled_at),
        "closed_at": iso(row.closed_at), "due_at": iso(due),
        "step_due_at": iso(row.step_due_at), "disposal_due_at": iso(row.disposal_due_at),
        "overdue": bool(due is not None and now > due),
        "rework_count": row.rework_count, "return_count": row.return_count,
    }


def _select() -> sa.Select[Any]:
    return sa.select(*PUBLIC, sa.func.ST_X(case_file.c.geom).label("lon"),
                     sa.func.ST_Y(case_file.c.geom).label("lat"))


def get_case(session: Session, number: str) -> dict[str, Any]:
    load_case(session, number)
    row = session.execute(_select().where(case_file.c.district_code == number[:6],
                                          case_file.c.number == number)).one()
    now = session.execute(sa.select(sa.func.now())).scalar_one()
    out = render(row, now)
    out["history"] = [
        {"seq": e.seq, "action": e.action, "from": e.from_state, "to": e.to_state,
         "role": e.role, "actor": e.actor, "at": e.at.isoformat(), "note": e.note,
         "department": e.department, "detail": e.detail}
        for e in session.execute(sa.select(case_event).where(
            case_event.c.district_code == row.district_code, case_event.c.number == number)
            .order_by(case_event.c.seq))]
    return out


def list_cases(session: Session, *, district: str | None = None, state: str | None = None,
               class_code: str | None = None, overdue: bool = False,
               due_within: timedelta | None = None, limit: int = 100, offset: int = 0,
               now: datetime | None = None) -> tuple[list[dict[str, Any]], int]:
    """A page of cases (newest first) and how many match."""
    now = now or session.execute(sa.select(sa.func.now())).scalar_one()
    due = sa.case((case_file.c.state == "dispatched", case_file.c.disposal_due_at),
                  (case_file.c.state.in_(OPEN_STATES), case_file.c.step_due_at), else_=None)
    where = []
    if district:
        where.append(case_file.c.district_code == district)
    if state:
        where.append(case_file.c.state.in_(state.split(",")))
    if class_code:
        where.append(case_file.c.class_code == class_code)
    if overdue:
        where.append(due < now)
    if due_within is not None:
        where.append(sa.and_(due >= now, due <= now + due_within))
    total = session.execute(sa.select(sa.func.count()).select_from(case_file).where(*where)
                            ).scalar_one()
    rows = session.execute(_select().where(*where).order_by(case_file.c.reported_at.desc(),
                                                            case_file.c.number.desc())
                           .limit(limit).offset(offset))
    return [render(r, now) for r in rows], total


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
