"""Reading cases: one case with its history, pages of cases, overdue and due soon. The reporter's
contact is private and never leaves through these functions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from cases.flow import ACTIONS, DEPARTMENT, STATES, STEPS, allowed_in
from cases.tables import case_event, case_file
from cases.workflow import load_case
from gis.errors import BadInput

PUBLIC = [c for c in case_file.c if c.name not in ("reporter", "geom")]


def due_at(row: Any) -> datetime | None:
    """The deadline of the clock that runs now (none when the case is closed, void or 挂账)."""
    return row.step_due_at if row.step else None


def _iso(v: datetime | None) -> str | None:
    return v.isoformat() if v else None


def _step(step: str | None, holder: str | None) -> dict[str, Any] | None:
    if step is None:
        return None
    return {"step": step, "name": STEPS[step].name, "holder": holder}


def render(row: Any, now: datetime) -> dict[str, Any]:
    due = due_at(row)
    holder = None
    if row.step:
        holder = row.department if STEPS[row.step].holder == DEPARTMENT else STEPS[row.step].holder
    return {
        "number": row.number, "district": row.district_code, "state": row.state,
        "state_name": STATES[row.state], "source": row.source, "scheme": row.scheme,
        "class": {"code": row.class_code, "name": row.class_name, "kind": row.kind},
        "description": row.description, "address": row.address, "media": row.media,
        "point": {"lon": round(row.lon, 7), "lat": round(row.lat, 7)},
        "department": row.department, "snapshot": row.snapshot,
        "grid": row.grid_code, "street": row.street_code, "community": row.community_code,
        "condition_no": row.condition_no, "stage_no": row.stage_no,
        "needs_confirmation": row.needs_confirmation,
        "reported_at": _iso(row.reported_at), "accepted_at": _iso(row.accepted_at),
        "confirmed_at": _iso(row.confirmed_at), "filed_at": _iso(row.filed_at),
        "dispatched_at": _iso(row.dispatched_at), "handled_at": _iso(row.handled_at),
        "checked_at": _iso(row.checked_at), "closed_at": _iso(row.closed_at),
        "step": {**(_step(row.step, holder) or {}), "started_at": _iso(row.step_started_at),
                 "due_at": _iso(due)} if row.step else None,
        "due_at": _iso(due), "disposal_due_at": _iso(row.disposal_due_at),
        "overdue": bool(due is not None and now > due),
        "pending": row.pending, "suspended_at": _iso(row.suspended_at),
        "rework_count": row.rework_count, "return_count": row.return_count,
        "extension_count": row.extension_count, "urge_count": row.urge_count,
        "self_handled": row.self_handled, "manual_default": row.manual_default,
        "provisional": row.provisional, "satisfaction": row.satisfaction,
        "actions": allowed_in(row.state),
    }


def _select() -> sa.Select[Any]:
    return sa.select(*PUBLIC, sa.func.ST_X(case_file.c.geom).label("lon"),
                     sa.func.ST_Y(case_file.c.geom).label("lat"))


def get_case(session: Session, number: str) -> dict[str, Any]:
    """A case with its history (who — post, person, department —, when, the step each action
    ended and its due time) and the clock of each step, done or running."""
    load_case(session, number)
    row = session.execute(_select().where(case_file.c.district_code == number[:6],
                                          case_file.c.number == number)).one()
    now = session.execute(sa.select(sa.func.now())).scalar_one()
    out = render(row, now)
    events = session.execute(sa.select(case_event).where(
        case_event.c.district_code == row.district_code, case_event.c.number == number)
        .order_by(case_event.c.seq)).all()
    out["history"] = [
        {"seq": e.seq, "action": e.action,
         "name": ACTIONS[e.action].name if e.action in ACTIONS else "上报",
         "from": e.from_state, "to": e.to_state, "post": e.post, "person": e.person,
         "department": e.department, "target": e.target, "at": e.at.isoformat(),
         "step": e.step, "due": _iso(e.due),
         "late": bool(e.due is not None and e.at > e.due), "note": e.note, "detail": e.detail}
        for e in events]
    out["steps"] = steps(events, now)
    return out


def steps(events: Sequence[Any], now: datetime) -> list[dict[str, Any]]:
    """Each clock a case ran: its step, holder, start, due time, and when and by what it ended
    (late or not); the running one has no end yet and is late once its due time has passed."""
    out: list[dict[str, Any]] = []
    clock: dict[str, Any] | None = None
    for e in events:
        if clock is not None:
            if e.step == clock["step"] or e.next_step != clock["step"]:
                # ended, or stopped (挂账, 作废)
                out.append({**clock, "done_at": e.at.isoformat(), "ended_by": e.action,
                            "late": bool(clock["due"] is not None and e.at > clock["due"])})
                clock = None
            elif e.next_due != clock["due"]:
                clock["due"] = e.next_due            # the same clock, moved (an approved 延期)
        if clock is None and e.next_step is not None:
            clock = {"step": e.next_step, "name": STEPS[e.next_step].name,
                     "holder": e.next_holder, "started": e.at.isoformat(), "due": e.next_due}
    if clock is not None:
        clock |= {"done_at": None, "ended_by": None,
                  "late": bool(clock["due"] is not None and now > clock["due"])}
        out.append(clock)
    return [{**c, "due": _iso(c["due"])} for c in out]


def list_cases(session: Session, *, district: str | None = None, state: str | None = None,
               class_code: str | None = None, overdue: bool = False,
               due_within: timedelta | None = None, limit: int = 100, offset: int = 0,
               now: datetime | None = None) -> tuple[list[dict[str, Any]], int]:
    """A page of cases (newest first) and how many match."""
    now = now or session.execute(sa.select(sa.func.now())).scalar_one()
    due = case_file.c.step_due_at            # the clock that runs now (none once it ended)
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
    raise BadInput(f"due_within：{text!r} 的格式应如 30m、2h、1d 或 PT2H "
                   f"(due_within: {text!r} is not like 30m, 2h, 1d or PT2H)")


def summaries(session: Session, district: str, numbers: Sequence[str]) -> list[dict[str, Any]]:
    """number, class, state, department and report time of these cases of a district."""
    rows = session.execute(sa.select(
        case_file.c.number, case_file.c.class_code, case_file.c.class_name, case_file.c.state,
        case_file.c.department, case_file.c.reported_at).where(
        case_file.c.district_code == district, case_file.c.number.in_(list(numbers)))
        .order_by(case_file.c.number))
    return [dict(r._mapping) for r in rows]
