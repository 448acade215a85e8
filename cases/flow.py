"""The case workflow of CJ/T 315 as data, in one place: its states, the clocks of its steps and
who holds each, and every action with the states it starts from, where it leads and the one post
that may take it (../shared/DESIGN.md, "Who acts" and "Cases"). `cases.workflow` carries the
actions out; this table is what it checks them against.

    上报 reported ──accept 受理 (受理员)──▶ accepted
      ──confirm 核实属实 / refute 不属实 (监督员)──▶ accepted / void
      (a report from 公众, 12345热线 or 视频 awaits 核实 on site; a 监督员's own report does not)
    accepted ──file 立案 / reject 不予立案 (值班长)──▶ filed / void
    filed ──dispatch 派遣 (派遣员)──▶ dispatched ──handle 处置反馈 (专业部门)──▶ handled
    handled ──verify 核查通过 / rework 返工 (监督员)──▶ checked / dispatched
    checked ──close 结案 (值班长)──▶ closed ──callback 回访 (受理员)──▶ closed
    dispatched ──request_extend / request_return / request_suspend (专业部门)──▶ pending request
      ──approve / deny (值班长; a return also 派遣员)──▶ extended / filed / suspended
    suspended ──resume 恢复 (值班长)──▶ dispatched
    filed, dispatched ──cancel 作废 (值班长)──▶ void
    any open state ──urge 督办 (值班长)──▶ the same state, recorded
"""

from __future__ import annotations

from dataclasses import dataclass

from gis.errors import BadInput, CitygridError, NotFound

STATES = {"reported": "上报", "accepted": "受理", "filed": "立案", "dispatched": "派遣",
          "handled": "处置反馈", "checked": "核查通过", "closed": "结案", "suspended": "挂账",
          "void": "作废"}
OPEN_STATES = ("reported", "accepted", "filed", "dispatched", "handled", "checked",
               "suspended")
POSTS = ("监督员", "受理员", "值班长", "派遣员", "专业部门")
DEPARTMENT = "专业部门"
# the posts of the supervision centre (not the departments): they may see a reporter's contact
CENTRE_POSTS = ("受理员", "值班长", "派遣员", "监督员")
# sources whose reports a 监督员 confirms on site before they are filed
PUBLIC_SOURCES = ("公众", "12345热线", "视频")
SATISFACTION = ("满意", "基本满意", "不满意")


@dataclass(frozen=True)
class Step:
    """A step of a case and its clock: who holds it, on which calendar it runs."""

    name: str
    holder: str          # the post holding it; 专业部门: the department the case is with
    calendar: str        # "duty": the centre's duty hours; "working": the departments' calendar


STEPS = {
    "accept": Step("受理", "受理员", "duty"),
    "confirm": Step("核实", "监督员", "duty"),
    "file": Step("立案", "值班长", "duty"),
    "dispatch": Step("派遣", "派遣员", "duty"),
    "dispose": Step("处置", DEPARTMENT, "working"),      # limits from the handling manual
    "check": Step("核查", "监督员", "duty"),
    "close": Step("结案", "值班长", "duty"),
}

# the centre's steps and the post holding each (the department's 处置 is not the centre's)
CENTRE_STEPS = tuple((k, s.holder) for k, s in STEPS.items() if s.holder != DEPARTMENT)


@dataclass(frozen=True)
class Action:
    name: str
    sources: frozenset[str]
    target: str | None   # the state it leads to; None: stays (or, for approve, depends)
    posts: frozenset[str]
    when: str = ""       # what else must hold, in words


def _a(name: str, sources: tuple[str, ...], target: str | None, posts: tuple[str, ...],
       when: str = "") -> Action:
    return Action(name, frozenset(sources), target, frozenset(posts), when)


ACTIONS = {
    "accept": _a("受理", ("reported",), "accepted", ("受理员",)),
    "confirm": _a("核实属实", ("accepted",), "accepted", ("监督员",), "awaiting 核实"),
    "refute": _a("核实不属实", ("accepted",), "void", ("监督员",), "awaiting 核实"),
    "file": _a("立案", ("accepted",), "filed", ("值班长",),
               "confirmed, or reported by a 监督员; a row in the handling manual"),
    "reject": _a("不予立案", ("accepted",), "void", ("值班长",),
                 "confirmed, or reported by a 监督员"),
    "dispatch": _a("派遣", ("filed",), "dispatched", ("派遣员",)),
    "handle": _a("处置反馈", ("dispatched",), "handled", (DEPARTMENT,),
                 "by the department holding the case"),
    "verify": _a("核查通过", ("handled",), "checked", ("监督员",),
                 "a staged limit's next stage is dispatched again instead"),
    "rework": _a("核查不通过，返工", ("handled",), "dispatched", ("监督员",),
                 "the disposal clock runs on"),
    "close": _a("结案", ("checked",), "closed", ("值班长",)),
    "request_extend": _a("延期申请", ("dispatched",), None, (DEPARTMENT,),
                         "by the department holding it, before the disposal deadline, "
                         "no other request pending"),
    "request_return": _a("退回申请", ("dispatched",), None, (DEPARTMENT,),
                         "by the department holding it, no other request pending"),
    "request_suspend": _a("挂账申请", ("dispatched",), None, (DEPARTMENT,),
                          "by the department holding it, no other request pending"),
    "approve": _a("批准申请", ("dispatched",), None, ("值班长", "派遣员"),
                  "a request pending; 派遣员 only for a return"),
    "deny": _a("驳回申请", ("dispatched",), None, ("值班长", "派遣员"),
               "a request pending; 派遣员 only for a return"),
    "resume": _a("恢复", ("suspended",), "dispatched", ("值班长",)),
    "cancel": _a("作废", ("filed", "dispatched"), "void", ("值班长",)),
    "urge": _a("督办", OPEN_STATES, None, ("值班长",)),
    "callback": _a("回访", ("closed",), None, ("受理员",),
                   "a report from 公众 or 12345热线, once, with its satisfaction"),
}
REQUESTS = {"request_extend": "extend", "request_return": "return",
            "request_suspend": "suspend"}
REQUEST_NAMES = {"extend": "延期", "return": "退回", "suspend": "挂账"}


class IllegalTransition(CitygridError):
    code = "illegal_transition"
    status = 409


class RoleNotAllowed(CitygridError):
    code = "role_not_allowed"
    status = 403


class UnknownCase(NotFound):
    code = "unknown_case"


class NotNow(BadInput):
    """The action fits the state but not the case as it is (a late extension, a second
    request, no request to approve)."""

    code = "not_allowed_now"
    status = 409


def allowed_in(state: str) -> list[str]:
    return [a for a, act in ACTIONS.items() if state in act.sources]


def table() -> list[dict[str, str]]:
    """The workflow as rows (for the README and the console): action, 中文, from, to, posts."""
    return [{"action": a, "name": act.name,
             "from": ", ".join(sorted(act.sources, key=list(STATES).index)),
             "to": act.target or "(same)", "posts": ", ".join(sorted(act.posts)),
             "when": act.when} for a, act in ACTIONS.items()]
