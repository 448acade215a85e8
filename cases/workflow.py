"""The case lifecycle of CJ/T 315 / GB/T 30428.8 with its clocks.

    reported 上报 --file 立案--> filed --dispatch 派遣--> dispatched --handle 处置反馈--> handled
      --verify 核查通过--> closed 结案   (or, for a staged limit such as 停工→处罚→拆除,
                                       the next stage: dispatched again with that stage's clock)
    reported --reject 不予立案--> void
    handled  --rework 核查不通过, 返工--> dispatched   (rework + 1; the disposal clock runs on)
    dispatched --return 退回--> filed                   (with who is responsible instead)
    dispatched --extend 延期--> dispatched              (the disposal deadline moves)

Clocks: the centre's own steps (受理/立案, 派遣, 核查) and the department's disposal clock, which
starts at dispatch, continues through 返工 and moves with an approved 延期. Every transition
appends to the case's history (actor, role, time, note).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from cases import limits
from cases.tables import case_event, case_file
from cases.worktime import CalendarError, parse_unit
from gis.errors import BadInput, CitygridError, NotFound
from lookup.chain import candidates

STATE_NAMES = {"reported": "上报", "filed": "立案", "dispatched": "派遣", "handled": "处置反馈",
               "closed": "结案", "void": "作废"}
OPEN_STATES = ("reported", "filed", "dispatched", "handled")

POSTS = {"监督员": "监督员", "受理员": "受理员", "值班长": "值班长", "派遣员": "派遣员",
         "专业部门": "专业部门", "公众": "公众",
         "supervisor": "监督员", "receiver": "受理员",
         "shift_leader": "值班长", "dispatcher": "派遣员", "department": "专业部门",
         "public": "公众"}


@dataclass(frozen=True)
class Actor:
    """Who acts: a person holding a post. Over HTTP all three come from the token; the CLI (the
    local administrator) names them. A 专业部门 actor without a department acts as the department
    holding the case (the CLI and history import); with one, only on cases its department holds.
    """

    post: str
    person: str
    department: str | None = None


@dataclass(frozen=True)
class Transition:
    action: str
    name: str
    sources: frozenset[str]
    target: str
    roles: frozenset[str]


def _t(action: str, name: str, sources: set[str], target: str, roles: set[str]) -> Transition:
    return Transition(action, name, frozenset(sources), target, frozenset(roles))


# Each action and the one post that may take it (../shared/DESIGN.md, "Who acts").
TRANSITIONS = {t.action: t for t in (
    _t("file", "立案", {"reported"}, "filed", {"值班长"}),
    _t("reject", "不予立案", {"reported"}, "void", {"值班长"}),
    _t("dispatch", "派遣", {"filed"}, "dispatched", {"派遣员"}),
    _t("handle", "处置反馈", {"dispatched"}, "handled", {"专业部门"}),
    _t("verify", "核查通过", {"handled"}, "closed", {"监督员"}),
    _t("rework", "核查不通过，返工", {"handled"}, "dispatched", {"监督员"}),
    _t("return", "退回", {"dispatched"}, "filed", {"专业部门"}),
    _t("extend", "延期", {"dispatched"}, "dispatched", {"值班长"}),
)}


class IllegalTransition(CitygridError):
    code = "illegal_transition"
    status = 409


class RoleNotAllowed(CitygridError):
    code = "role_not_allowed"
    status = 403


class UnknownCase(NotFound):
    code = "unknown_case"


def post_of(text: str) -> str:
    post = POSTS.get(text.strip()) or POSTS.get(text.strip().lower())
    if post is None:
        raise BadInput(f"post: {text!r} is not one of 监督员, 受理员, 值班长, 派遣员, 专业部门")
    return post


def parse_extension(value: Any) -> tuple[float, str]:
    """`{"value": 2, "unit": "working_days"}`, "2 working_days", "2工作日", "4h"."""
    if isinstance(value, dict):
        amount, unit = value.get("value"), str(value.get("unit", ""))
    elif isinstance(value, str):
        import re

        m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([^\s0-9].*?)\s*", value)
        if not m:
            raise BadInput(f"extend_by: {value!r} is not like '2 working_days' or '4工作时'")
        amount, unit = float(m.group(1)), m.group(2)
    else:
        raise BadInput("extend_by: give {\"value\": N, \"unit\": …} or a string like "
                       "'2 working_days'")
    try:
        amount = float(amount)  # type: ignore[arg-type]
        unit = parse_unit(unit)
    except (TypeError, ValueError, CalendarError) as exc:
        raise BadInput(f"extend_by: {exc}") from None
    if amount <= 0:
        raise BadInput(f"extend_by: {amount} is not a positive time")
    return amount, unit


def load_case(session: Session, number: str, *, lock: bool = False) -> sa.Row:
    # A case number starts with its district code: every case query names the district
    # (the distribution key, were the store ever spread over several servers).
    stmt = sa.select(case_file).where(case_file.c.district_code == number[:6],
                                      case_file.c.number == number)
    if lock:
        stmt = stmt.with_for_update()
    row = session.execute(stmt).first()
    if row is None:
        raise UnknownCase(f"no case {number!r}")
    return row


def apply(session: Session, number: str, action: str, actor: Actor, *,
          note: str | None = None, department: str | None = None, extend_by: Any = None,
          condition_no: int | None = None, at: datetime | None = None) -> dict[str, Any]:
    """Carry out one transition as `actor`; return what changed (the caller commits)."""
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise BadInput(f"action: {action!r} is not one of {', '.join(TRANSITIONS)}")
    who = post_of(actor.post)
    if not actor.person or not actor.person.strip():
        raise BadInput("actor: who acts must be named")
    case = load_case(session, number, lock=True)
    if case.state not in transition.sources:
        allowed = [a for a, t in TRANSITIONS.items() if case.state in t.sources]
        raise IllegalTransition(
            f"case {number} is {case.state} ({STATE_NAMES[case.state]}): {action} "
            f"({transition.name}) is not allowed; allowed: {', '.join(allowed) or 'none'}",
            detail={"state": case.state, "allowed": allowed})
    if who not in transition.roles:
        raise RoleNotAllowed(f"{who} may not {action} ({transition.name}); "
                             f"allowed: {', '.join(sorted(transition.roles))}",
                             detail={"post": who, "allowed": sorted(transition.roles)})
    if who == "专业部门" and actor.department is not None and actor.department != case.department:
        raise RoleNotAllowed(f"case {number} is held by {case.department or 'no department'}, "
                             f"not by {actor.department}: a department acts only on its own "
                             "cases")
    actor_department = actor.department or (case.department if who == "专业部门" else None)
    now = at or session.execute(sa.select(sa.func.now())).scalar_one()
    cal = limits.calendar(session)
    district = case.district_code
    values: dict[str, Any] = {"state": transition.target, "updated_at": now}
    detail: dict[str, Any] = {}

    def step_due(step: str) -> datetime | None:
        limit = limits.step_limit(session, district, step)
        return cal.due(now, *limit) if limit else None

    condition = limits.condition(session, district, _scheme(session, district), case.kind,
                                 case.class_code, condition_no or case.condition_no)
    if action == "file":
        values |= {"filed_at": now, "step_due_at": step_due("dispatch")}
        if condition_no is not None:
            values["condition_no"] = condition.condition_no
            detail["condition_no"] = condition.condition_no
    elif action == "reject":
        values |= {"step_due_at": None}
    elif action == "dispatch":
        stage = _stage(condition, case.stage_no)
        target = (department or case.department or "").strip()
        if not target:
            raise BadInput("department: the case has no responsible department; name one")
        values |= {"department": target, "dispatched_at": now, "handled_at": None,
                   "step_due_at": None,
                   "disposal_due_at": cal.due(now, stage.limit_value, stage.limit_unit)}
        detail |= {"stage": stage.stage_no, "limit": f"{stage.limit_value:g} {stage.limit_unit}"}
        department = target
    elif action == "handle":
        values |= {"handled_at": now, "step_due_at": step_due("verify")}
        detail["on_time"] = bool(case.disposal_due_at is None or now <= case.disposal_due_at)
    elif action == "verify":
        if case.stage_no < len(condition.stages):
            nxt = _stage(condition, case.stage_no + 1)
            values |= {"state": "dispatched", "stage_no": nxt.stage_no, "dispatched_at": now,
                       "handled_at": None, "step_due_at": None,
                       "disposal_due_at": cal.due(now, nxt.limit_value, nxt.limit_unit)}
            detail |= {"stage": nxt.stage_no, "stage_name": nxt.name}
        else:
            values |= {"closed_at": now, "step_due_at": None}
            detail["on_time"] = bool(case.disposal_due_at is None
                                     or (case.handled_at or now) <= case.disposal_due_at)
    elif action == "rework":
        values |= {"rework_count": case.rework_count + 1, "handled_at": None,
                   "step_due_at": None}
        detail["disposal_due_at"] = case.disposal_due_at.isoformat() \
            if case.disposal_due_at else None
    elif action == "return":
        instead = (department or "").strip() or _next_candidate(session, case)
        if instead == case.department:
            raise BadInput(f"department: the case is already with {instead}")
        values |= {"department": instead, "return_count": case.return_count + 1,
                   "dispatched_at": None, "disposal_due_at": None,
                   "step_due_at": step_due("dispatch")}
        detail |= {"returned_by": case.department, "instead": instead}
        department = instead
    elif action == "extend":
        amount, unit = parse_extension(extend_by)
        moved = cal.due(case.disposal_due_at or now, amount, unit)
        values["disposal_due_at"] = moved
        detail |= {"extend_by": f"{amount:g} {unit}",
                   "from": case.disposal_due_at.isoformat() if case.disposal_due_at else None,
                   "to": moved.isoformat()}
    session.execute(sa.update(case_file).where(
        case_file.c.district_code == district, case_file.c.number == number).values(**values))
    after = {**case._mapping, **values}
    clock = after["disposal_due_at"] if after["state"] == "dispatched" else (
        after["step_due_at"] if after["state"] in OPEN_STATES else None)
    detail["due_at"] = clock.isoformat() if clock else None   # lets stats replay the clocks
    if actor_department:
        detail["by_department"] = actor_department
    record(session, district, number, action, case.state, values["state"], who, actor.person,
           now, note, department, detail)
    return {"action": action, "district": district, "from": case.state, "to": values["state"],
            **detail}


def _scheme(session: Session, district_code: str) -> str:
    from grid.districts import get_district

    return get_district(session, district_code).scheme.value


def _stage(condition: limits.Condition, stage_no: int) -> limits.Stage:
    for s in condition.stages:
        if s.stage_no == stage_no:
            return s
    return condition.stages[0]


def record(session: Session, district: str, number: str, action: str, from_state: str | None,
           to_state: str, role: str, actor: str, at: datetime, note: str | None,
           department: str | None, detail: dict[str, Any]) -> None:
    """Append one entry to the case's history."""
    seq = session.execute(sa.select(sa.func.coalesce(sa.func.max(case_event.c.seq), 0) + 1)
                          .where(case_event.c.district_code == district,
                                 case_event.c.number == number)).scalar_one()
    session.execute(sa.insert(case_event).values(
        district_code=district, number=number, seq=seq, action=action, from_state=from_state,
        to_state=to_state, role=role, actor=actor.strip(), at=at, note=note,
        department=department, detail=detail))


def _next_candidate(session: Session, case: sa.Row) -> str:
    """Who is responsible instead, when a department returns a case: the next party in the
    resolution chain (component maintainer, component department, zone, 权责清单, street office)
    that has not had the case yet."""
    had = {r.department for r in session.execute(
        sa.select(case_event.c.department).where(
            case_event.c.district_code == case.district_code, case_event.c.number == case.number,
            case_event.c.department.is_not(None)))}
    had.add(case.department)
    for party in candidates(session, case):
        if party.department not in had:
            return party.department
    raise BadInput("department: every party the resolution names has had this case; name the "
                   "department to take it")
