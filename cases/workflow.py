"""Carrying out the actions of the case workflow (`cases.flow`) with the clock of every step.

Every action is taken by a person holding a post (`Actor`), checked against the state machine and
the post it belongs to, and appended to the case's history with who acted (post, person,
department), when, the step its clock ended and that step's due time, and the step it started
with its due time and holder — so that lateness can be charged to whoever held the case.

The centre's steps (受理, 核实, 立案, 派遣, 核查, 结案) run on its duty calendar with the limits of
`centre_step`; the department's disposal (处置) runs on the working calendar with the limit of
the handling manual's row for the case's class and filing condition (staged where the manual
says so), runs on through 返工, moves with an approved 延期 and stops while 挂账.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from cases import limits
from cases.flow import (
    ACTIONS,
    DEPARTMENT,
    POSTS,
    PUBLIC_SOURCES,
    REQUEST_NAMES,
    REQUESTS,
    SATISFACTION,
    STATES,
    STEPS,
    IllegalTransition,
    NotNow,
    RoleNotAllowed,
    UnknownCase,
    allowed_in,
)
from cases.tables import case_event, case_file
from cases.worktime import CalendarError, parse_unit
from gis.db import CASE_EVENTS, notify
from gis.errors import BadInput
from lookup.chain import candidates

# kept for callers that name them from here
__all__ = ["Actor", "IllegalTransition", "RoleNotAllowed", "UnknownCase", "apply", "post_of"]

ALIASES = {"supervisor": "监督员", "receiver": "受理员", "shift_leader": "值班长",
           "dispatcher": "派遣员", "department": "专业部门", "public": "公众"}


@dataclass(frozen=True)
class Actor:
    """Who acts: a person holding a post. Over HTTP all three come from the token; the CLI (the
    local administrator) and history import name them. A 专业部门 actor without a department
    acts as the department holding the case; with one, only on cases its department holds."""

    post: str
    person: str
    department: str | None = None


def post_of(text: str) -> str:
    key = text.strip()
    post = key if key in (*POSTS, "公众") else ALIASES.get(key.lower())
    if post is None:
        raise BadInput(f"岗位 {text!r} 不是监督员、受理员、值班长、派遣员或专业部门之一 "
                       f"(post {text!r} is not one of 监督员, 受理员, 值班长, 派遣员, 专业部门)")
    return post


def parse_extension(value: Any) -> tuple[float, str]:
    """`{"value": 2, "unit": "working_days"}`, "2 working_days", "2工作日", "4h"."""
    if isinstance(value, dict):
        amount, unit = value.get("value"), str(value.get("unit", ""))
    elif isinstance(value, str):
        m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([^\s0-9].*?)\s*", value)
        if not m:
            raise BadInput(f"extend_by：{value!r} 不是“2 working_days”或“4工作时”这样的时长 "
                           f"(extend_by {value!r} is not like '2 working_days')")
        amount, unit = float(m.group(1)), m.group(2)
    else:
        raise BadInput("extend_by：请给出时长，如 “2 working_days” 或 “4工作时” "
                       "(extend_by: give a time such as '2 working_days')")
    try:
        amount = float(amount)  # type: ignore[arg-type]
        unit = parse_unit(unit)
    except (TypeError, ValueError, CalendarError) as exc:
        raise BadInput(f"extend_by：{exc}") from None
    if amount <= 0:
        raise BadInput(f"extend_by：{amount:g} 不是正的时长 (not a positive time)")
    return amount, unit


def load_case(session: Session, number: str, *, lock: bool = False) -> sa.Row[Any]:
    # A case number starts with its district code: every case query names the district
    # (the distribution key, were the store ever spread over several servers).
    stmt = sa.select(case_file).where(case_file.c.district_code == number[:6],
                                      case_file.c.number == number)
    if lock:
        stmt = stmt.with_for_update()
    row = session.execute(stmt).first()
    if row is None:
        raise UnknownCase(f"没有案件 {number!r} (no case {number!r})")
    return row


@dataclass
class _Outcome:
    """What an action changes: the case's columns, and what its history entry says."""

    values: dict[str, Any] = field(default_factory=dict)
    target: str | None = None        # the department the action names
    ends: bool = False               # it ends the step whose clock runs
    detail: dict[str, Any] = field(default_factory=dict)


class _Context:
    """One action on one case: the case as it was, who acts, when, and its calendars."""

    def __init__(self, session: Session, case: Any, actor: Actor, now: datetime,
                 params: dict[str, Any]) -> None:
        self.session, self.case, self.actor, self.now, self.params = (
            session, case, actor, now, params)
        self.cals = limits.calendars(session)

    def centre_due(self, step: str, start: datetime | None = None) -> datetime | None:
        limit = limits.step_limit(self.session, self.case.district_code, step)
        return self.cals.duty.due(start or self.now, *limit) if limit else None

    def clock(self, step: str | None, due: datetime | None = None) -> dict[str, Any]:
        """The columns that start `step`'s clock now (None: no clock runs)."""
        if step is None:
            return {"step": None, "step_started_at": None, "step_due_at": None}
        if due is None and step != "dispose":
            due = self.centre_due(step)
        return {"step": step, "step_started_at": self.now, "step_due_at": due}

    def condition(self, condition_no: int | None = None) -> limits.Condition:
        c = self.case
        return limits.condition(self.session, c.district_code, c.scheme, c.kind, c.class_code,
                                condition_no)


def apply(session: Session, number: str, action: str, actor: Actor, *,
          note: str | None = None, department: str | None = None, extend_by: Any = None,
          reason: str | None = None, satisfaction: str | None = None,
          condition_no: int | None = None, at: datetime | None = None) -> dict[str, Any]:
    """Carry out one action as `actor`; return what changed (the caller commits)."""
    act = ACTIONS.get(action)
    if act is None:
        raise BadInput(f"动作 {action!r} 不存在；可用的动作：{'、'.join(ACTIONS)} "
                       f"(action {action!r} is not one of {', '.join(ACTIONS)})")
    post = post_of(actor.post)
    if not actor.person or not actor.person.strip():
        raise BadInput("actor：请写明执行人 (who acts must be named)")
    case = load_case(session, number, lock=True)
    if case.state not in act.sources:
        allowed = allowed_in(case.state)
        raise IllegalTransition(
            f"案件 {number} 当前为「{STATES[case.state]}」，不能「{act.name}」；可做："
            f"{'、'.join(ACTIONS[a].name for a in allowed) or '无'} (case {number} is "
            f"{case.state}: {action} is not allowed; allowed: {', '.join(allowed) or 'none'})",
            detail={"state": case.state, "allowed": allowed})
    if post not in act.posts:
        raise RoleNotAllowed(
            f"{post}不能「{act.name}」，只有{'、'.join(sorted(act.posts))}可以 ({post} may not "
            f"{action}; allowed: {', '.join(sorted(act.posts))})",
            detail={"post": post, "allowed": sorted(act.posts)})
    if post == DEPARTMENT and actor.department is not None \
            and actor.department != case.department:
        raise RoleNotAllowed(
            f"案件 {number} 由{case.department or '（无部门）'}承办，{actor.department}不能处理 "
            f"(case {number} is held by {case.department}, not by {actor.department})")
    now = at or session.execute(sa.select(sa.func.now())).scalar_one()
    last = session.execute(sa.select(sa.func.max(case_event.c.at)).where(
        case_event.c.district_code == case.district_code,
        case_event.c.number == number)).scalar()
    if last is not None and now < last:
        raise BadInput(f"{now.isoformat()} 早于案件 {number} 的上一步（{last.isoformat()}） "
                       f"(the action is dated before the case's previous one)")
    ctx = _Context(session, case, Actor(post, actor.person.strip(),
                                        actor.department or (case.department
                                                             if post == DEPARTMENT else None)),
                   now, {"note": note, "department": department, "extend_by": extend_by,
                         "reason": reason, "satisfaction": satisfaction,
                         "condition_no": condition_no})
    out = HANDLERS[action](ctx)
    values = {"updated_at": now, **out.values}
    values.setdefault("state", act.target or case.state)
    after = {**case._mapping, **values}
    due = after["step_due_at"]
    values["provisional"] = bool(due is not None and after["step"] == "dispose"
                                 and ctx.cals.working.provisional(due))
    session.execute(sa.update(case_file).where(
        case_file.c.district_code == case.district_code, case_file.c.number == number)
        .values(**values))
    holder = None
    if after["step"] is not None:
        holder = after["department"] if STEPS[after["step"]].holder == DEPARTMENT \
            else STEPS[after["step"]].holder
    record(session, case.district_code, number, action, case.state, values["state"],
           ctx.actor, now, note=note, target=out.target,
           step=case.step if out.ends else None,
           due=case.step_due_at if out.ends else None,
           next_step=after["step"], next_due=due, next_holder=holder, detail=out.detail)
    return {"action": action, "district": case.district_code, "from": case.state,
            "to": values["state"], "due_at": due.isoformat() if due else None, **out.detail}


def record(session: Session, district: str, number: str, action: str, from_state: str | None,
           to_state: str, actor: Actor, at: datetime, *, note: str | None = None,
           target: str | None = None, step: str | None = None, due: datetime | None = None,
           next_step: str | None = None, next_due: datetime | None = None,
           next_holder: str | None = None, detail: dict[str, Any] | None = None) -> None:
    """Append one entry to the case's history."""
    seq = session.execute(sa.select(sa.func.coalesce(sa.func.max(case_event.c.seq), 0) + 1)
                          .where(case_event.c.district_code == district,
                                 case_event.c.number == number)).scalar_one()
    session.execute(sa.insert(case_event).values(
        district_code=district, number=number, seq=seq, action=action, from_state=from_state,
        to_state=to_state, post=actor.post if actor.post != "公众" else None,
        person=actor.person, department=actor.department, target=target, at=at, note=note,
        step=step, due=due, next_step=next_step, next_due=next_due, next_holder=next_holder,
        detail=detail or {}))
    # open consoles hear of it when the transaction commits (api.feed)
    department = session.execute(sa.select(case_file.c.department).where(
        case_file.c.district_code == district, case_file.c.number == number)).scalar()
    notify(session, CASE_EVENTS, json.dumps(
        {"district": district, "number": number, "seq": seq, "action": action,
         "state": to_state, "department": department, "holder": next_holder},
        ensure_ascii=False))


# -- the actions -------------------------------------------------------------------------------


def _accept(x: _Context) -> _Outcome:
    confirm = x.case.source in PUBLIC_SOURCES
    return _Outcome(ends=True, values={"accepted_at": x.now, "needs_confirmation": confirm,
                                       **x.clock("confirm" if confirm else "file")},
                    detail={"needs_confirmation": confirm})


def _awaiting(x: _Context, confirming: bool) -> None:
    if x.case.needs_confirmation != confirming:
        said = ("案件不等待核实" if confirming else "案件等待监督员核实，尚不能立案")
        raise IllegalTransition(
            f"{said} (case {x.case.number} is {'not ' if confirming else ''}awaiting 核实)",
            detail={"state": x.case.state, "needs_confirmation": x.case.needs_confirmation})


def _confirm(x: _Context) -> _Outcome:
    _awaiting(x, True)
    return _Outcome(ends=True, values={"needs_confirmation": False, "confirmed_at": x.now,
                                       **x.clock("file")})


def _refute(x: _Context) -> _Outcome:
    _awaiting(x, True)
    return _Outcome(ends=True, values={"needs_confirmation": False, **x.clock(None)},
                    detail={"outcome": "不属实"})


def _file(x: _Context) -> _Outcome:
    _awaiting(x, False)
    c = x.condition(x.params["condition_no"] or x.case.condition_no)
    return _Outcome(ends=True, values={
        "filed_at": x.now, "condition_no": c.condition_no, "stage_no": c.stages[0].stage_no,
        "manual_default": c.class_code == "*", **x.clock("dispatch")},
        detail={"condition_no": c.condition_no, "manual_default": c.class_code == "*"})


def _reject(x: _Context) -> _Outcome:
    _awaiting(x, False)
    return _Outcome(ends=True, values=x.clock(None), detail={"outcome": "不予立案"})


def _stage(condition: limits.Condition, stage_no: int | None) -> limits.Stage:
    for s in condition.stages:
        if s.stage_no == stage_no:
            return s
    return condition.stages[0]


def _dispose(x: _Context, stage: limits.Stage) -> dict[str, Any]:
    due = x.cals.working.due(x.now, stage.limit_value, stage.limit_unit)
    return {"dispatched_at": x.now, "handled_at": None, "disposal_due_at": due,
            **x.clock("dispose", due)}


def _dispatch(x: _Context) -> _Outcome:
    target = (x.params["department"] or x.case.department or "").strip()
    if not target:
        raise BadInput("department：案件没有责任部门，请指定派遣给谁 "
                       "(the case has no responsible department; name one)")
    stage = _stage(x.condition(), x.case.stage_no)
    return _Outcome(ends=True, target=target, values={"department": target, **_dispose(x, stage)},
                    detail={"stage": stage.stage_no,
                            "limit": f"{stage.limit_value:g} {stage.limit_unit}"})


def _handle(x: _Context) -> _Outcome:
    due = x.case.disposal_due_at
    detail: dict[str, Any] = {"on_time": bool(due is None or x.now <= due)}
    if x.case.pending:
        detail["lapsed_request"] = x.case.pending["kind"]    # handled while still pending
    return _Outcome(ends=True, values={"handled_at": x.now, "pending": None,
                                       **x.clock("check")}, detail=detail)


def _verify(x: _Context) -> _Outcome:
    condition = x.condition()
    stage_no = x.case.stage_no or 1
    if stage_no < max(s.stage_no for s in condition.stages):
        nxt = _stage(condition, stage_no + 1)     # 停工 → 处罚 → 拆除: the next stage's clock
        return _Outcome(ends=True, values={"state": "dispatched", "stage_no": nxt.stage_no,
                                           **_dispose(x, nxt)},
                        detail={"stage": nxt.stage_no, "stage_name": nxt.name})
    return _Outcome(ends=True, values={"checked_at": x.now, **x.clock("close")})


def _rework(x: _Context) -> _Outcome:
    # back to the same department; its disposal clock runs on from where it was
    return _Outcome(ends=True, values={"rework_count": x.case.rework_count + 1,
                                       "handled_at": None,
                                       **x.clock("dispose", x.case.disposal_due_at)},
                    detail={"disposal_due_at": _iso(x.case.disposal_due_at)})


def _close(x: _Context) -> _Outcome:
    c = x.case
    # 按期结案: disposed of by the disposal deadline (as extended), whatever the 返工 between
    on_time = c.disposal_due_at is None or (c.handled_at is not None
                                           and c.handled_at <= c.disposal_due_at)
    return _Outcome(ends=True, values={"closed_at": x.now, **x.clock(None)},
                    detail={"on_time": on_time})


def _request(x: _Context, kind: str) -> _Outcome:
    c = x.case
    if c.pending:
        raise NotNow(f"案件已有待审批的{REQUEST_NAMES[c.pending['kind']]}申请，审批后才能再申请 "
                     f"(a {c.pending['kind']} request is already pending)",
                     detail={"pending": c.pending})
    reason = (x.params["reason"] or x.params["note"] or "").strip()
    if not reason:
        raise BadInput(f"reason：{REQUEST_NAMES[kind]}申请须写明理由 (a request needs a reason)")
    pending: dict[str, Any] = {"kind": kind, "at": x.now.isoformat(), "by": x.actor.person,
                               "department": x.actor.department, "reason": reason}
    if kind == "extend":
        if c.disposal_due_at is not None and x.now > c.disposal_due_at:
            raise NotNow(f"处置期限 {c.disposal_due_at.isoformat()} 已过，不能再申请延期 (the "
                         "disposal deadline has passed: an extension is asked for before it)",
                         detail={"disposal_due_at": c.disposal_due_at.isoformat()})
        amount, unit = parse_extension(x.params["extend_by"])
        pending["extend_by"] = f"{amount:g} {unit}"
    if kind == "return":
        instead = (x.params["department"] or "").strip() or None
        if instead == c.department:
            raise BadInput(f"department：案件已在{instead}，退回须指明其他责任单位 "
                           f"(the case is already with {instead})")
        pending["instead"] = instead
    return _Outcome(values={"pending": pending}, target=pending.get("instead"),
                    detail={"request": kind, "reason": reason,
                            **({"extend_by": pending["extend_by"]} if kind == "extend" else {})})


def _pending(x: _Context) -> dict[str, Any]:
    pending = x.case.pending
    if not pending:
        raise NotNow(f"案件 {x.case.number} 没有待审批的申请 (no request is pending)")
    if x.actor.post == "派遣员" and pending["kind"] != "return":
        raise RoleNotAllowed(f"{REQUEST_NAMES[pending['kind']]}申请由值班长审批，派遣员只审批退回 "
                             f"(a 派遣员 approves only returns)")
    return dict(pending)


def _approve(x: _Context) -> _Outcome:
    p = _pending(x)
    detail: dict[str, Any] = {"request": p["kind"], "requested_at": p["at"],
                              "requested_by": p["by"]}
    c = x.case
    if p["kind"] == "extend":
        amount, unit = parse_extension(p["extend_by"])
        moved = x.cals.working.due(c.disposal_due_at or x.now, amount, unit)
        detail |= {"extend_by": p["extend_by"], "from": _iso(c.disposal_due_at),
                   "to": moved.isoformat()}
        return _Outcome(values={"pending": None, "disposal_due_at": moved,
                                "step_due_at": moved,
                                "extension_count": c.extension_count + 1}, detail=detail)
    if p["kind"] == "return":
        instead = p.get("instead") or _next_candidate(x.session, c)
        dispatcher = x.session.execute(sa.select(case_event.c.person).where(
            case_event.c.district_code == c.district_code, case_event.c.number == c.number,
            case_event.c.action == "dispatch").order_by(case_event.c.seq.desc())).scalar()
        detail |= {"returned_by": c.department, "instead": instead,
                   "dispatched_by": dispatcher}
        # the 派遣 clock starts again at the approval
        return _Outcome(ends=True, target=instead, values={
            "state": "filed", "pending": None, "department": instead,
            "return_count": c.return_count + 1, "dispatched_at": None,
            "disposal_due_at": None, **x.clock("dispatch")}, detail=detail)
    left = x.cals.working.working_between(x.now, c.disposal_due_at).total_seconds() \
        if c.disposal_due_at else None
    detail["disposal_left_s"] = left
    return _Outcome(values={"state": "suspended", "pending": None, "suspended_at": x.now,
                            "disposal_left_s": left, **x.clock(None)}, detail=detail)


def _deny(x: _Context) -> _Outcome:
    p = _pending(x)
    return _Outcome(values={"pending": None}, detail={"request": p["kind"],
                                                      "requested_by": p["by"]})


def _resume(x: _Context) -> _Outcome:
    left = x.case.disposal_left_s
    due = (x.cals.working.add_working(x.now, timedelta(seconds=max(0.0, left)))
           if left is not None else None)
    return _Outcome(values={"suspended_at": None, "disposal_left_s": None,
                            "disposal_due_at": due, **x.clock("dispose", due)},
                    detail={"disposal_due_at": _iso(due)})


def _cancel(x: _Context) -> _Outcome:
    filed_by = x.session.execute(sa.select(case_event.c.post, case_event.c.person).where(
        case_event.c.district_code == x.case.district_code,
        case_event.c.number == x.case.number, case_event.c.action == "file")
        .order_by(case_event.c.seq.desc())).first()
    return _Outcome(ends=True, values={"pending": None, **x.clock(None)},
                    detail={"filed_by": filed_by.person if filed_by else None})


def _urge(x: _Context) -> _Outcome:
    return _Outcome(values={"urge_count": x.case.urge_count + 1},
                    detail={"step": x.case.step, "due": _iso(x.case.step_due_at)})


def _callback(x: _Context) -> _Outcome:
    c = x.case
    if c.source not in ("公众", "12345热线"):
        raise NotNow(f"回访只对公众和12345热线的上报（本案来源：{c.source}） "
                     "(a callback is for reports from 公众 or 12345热线)")
    if c.satisfaction is not None:
        raise NotNow(f"案件已回访（{c.satisfaction}） (the reporter was already called back)")
    said = (x.params["satisfaction"] or "").strip()
    if said not in SATISFACTION:
        raise BadInput(f"satisfaction：{said!r} 不是满意、基本满意或不满意 "
                       f"(satisfaction {said!r} is not one of {', '.join(SATISFACTION)})")
    return _Outcome(values={"satisfaction": said}, detail={"satisfaction": said})


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


HANDLERS: dict[str, Callable[[_Context], _Outcome]] = {
    "accept": _accept, "confirm": _confirm, "refute": _refute, "file": _file,
    "reject": _reject, "dispatch": _dispatch, "handle": _handle, "verify": _verify,
    "rework": _rework, "close": _close,
    "request_extend": lambda x: _request(x, "extend"),
    "request_return": lambda x: _request(x, "return"),
    "request_suspend": lambda x: _request(x, "suspend"),
    "approve": _approve, "deny": _deny, "resume": _resume, "cancel": _cancel, "urge": _urge,
    "callback": _callback,
}
assert set(HANDLERS) == set(ACTIONS) and set(REQUESTS) <= set(HANDLERS)


def _next_candidate(session: Session, case: Any) -> str:
    """Who is responsible instead, when a department returns a case: the next party in the
    resolution chain (component maintainer, component department, zone, 权责清单, street office)
    that has not had the case yet."""
    had = {r.target for r in session.execute(
        sa.select(case_event.c.target).where(
            case_event.c.district_code == case.district_code, case_event.c.number == case.number,
            case_event.c.target.is_not(None)))}
    had.add(case.department)
    for party in candidates(session, case):
        if party.department not in had:
            return party.department
    raise BadInput("department：责任链上的单位都已办过此案，请指定承办单位 "
                   "(every party the resolution names has had this case; name one)")
