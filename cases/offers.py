"""What a person may do to a case now: the actions of their post that the case's state and
clocks allow, each with the fields its form needs (a department for 派遣, a reason and a duration
for 延期, the satisfaction for 回访 …). The operator console shows exactly these as buttons; the
workflow (cases.workflow.apply) checks the same rules again when one is pressed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from cases import limits
from cases.flow import ACTIONS, DEPARTMENT, REQUEST_NAMES, SATISFACTION
from cases.workflow import PUBLIC_SOURCES, Actor, post_of


@dataclass(frozen=True)
class Field:
    name: str                   # the transition's parameter
    label: str                  # 中文
    kind: str                   # text | textarea | select | duration
    required: bool = False
    options: tuple[tuple[str, str], ...] = ()     # (value, label)
    default: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "kind": self.kind,
                "required": self.required, "options": [list(o) for o in self.options],
                "default": self.default}


@dataclass(frozen=True)
class Offer:
    action: str
    name: str
    fields: tuple[Field, ...] = field(default_factory=tuple)
    confirm: str | None = None      # asked before an action that cannot be undone

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "name": self.name,
                "fields": [f.to_dict() for f in self.fields], "confirm": self.confirm}


NOTE = Field("note", "备注", "textarea")
REASON = Field("reason", "理由", "textarea", required=True)      # a request's
WHY = Field("note", "理由", "textarea", required=True)           # 不予立案, 作废: in the history


def offers(session: Session, case: Any, actor: Actor | None, now: datetime,
           departments: list[str] | None = None) -> list[Offer]:
    """The actions `actor` may take on `case` (a case_file row) at `now`; none for a token
    without a post."""
    if actor is None:
        return []
    post = post_of(actor.post)
    out = []
    for action, act in ACTIONS.items():
        if case.state not in act.sources or post not in act.posts:
            continue
        if post == DEPARTMENT and actor.department is not None \
                and actor.department != case.department:
            continue
        offer = _offer(session, case, action, post, now, departments or [])
        if offer is not None:
            out.append(offer)
    return out


def _offer(session: Session, case: Any, action: str, post: str, now: datetime,
           departments: list[str]) -> Offer | None:
    name = ACTIONS[action].name
    pending = case.pending
    if action in ("confirm", "refute"):
        return Offer(action, name, (NOTE,)) if case.needs_confirmation else None
    if action in ("file", "reject"):
        if case.needs_confirmation:
            return None
        if action == "reject":
            return Offer(action, name, (WHY,), confirm="不予立案后案件作废，确定吗？")
        conditions = limits.conditions(session, case.district_code, case.scheme, case.kind,
                                       case.class_code)
        if not conditions:
            return None                  # the manual has no row: nothing can be filed
        choice = Field("condition", "立案条件", "select", required=len(conditions) > 1,
                       options=tuple((str(c.condition_no), c.filing_condition)
                                     for c in conditions),
                       default=str(case.condition_no or conditions[0].condition_no))
        return Offer(action, name, (choice, NOTE))
    if action == "dispatch":
        names = list(dict.fromkeys([*([case.department] if case.department else []),
                                    *departments]))
        return Offer(action, name, (Field("department", "派遣给", "select", required=True,
                                          options=tuple((d, d) for d in names),
                                          default=case.department), NOTE))
    if action.startswith("request_"):
        if pending:
            return None
        kind = action.removeprefix("request_")
        fields: tuple[Field, ...] = (REASON,)
        if kind == "extend":
            if case.disposal_due_at is not None and now > case.disposal_due_at:
                return None
            fields = (Field("extend_by", "延期时长", "duration", required=True,
                            options=(("working_hours", "工作时"), ("working_days", "工作日")),
                            default="1 working_days"), REASON)
        elif kind == "return":
            fields = (REASON, Field("department", "应由谁负责（可不填）", "text"))
        return Offer(action, f"{REQUEST_NAMES[kind]}申请", fields)
    if action in ("approve", "deny"):
        if not pending or (post == "派遣员" and pending.get("kind") != "return"):
            return None
        kind = REQUEST_NAMES.get(pending.get("kind", ""), "")
        return Offer(action, f"{'批准' if action == 'approve' else '驳回'}{kind}申请", (NOTE,))
    if action == "callback":
        if case.source not in PUBLIC_SOURCES or case.satisfaction is not None:
            return None
        return Offer(action, name, (Field("satisfaction", "满意度", "select", required=True,
                                          options=tuple((s, s) for s in SATISFACTION)), NOTE))
    if action == "cancel":
        return Offer(action, name, (WHY,), confirm="作废后案件不再办理，确定吗？")
    return Offer(action, name, (NOTE,))
