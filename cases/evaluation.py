"""Evaluation (绩效评价, CJ/T 292): the indicators of areas, departments and posts over a period,
counted from the cases' histories at a moment, each late step charged to whoever held it.

A period is whole days of China Standard Time, `start` to `end` inclusive; the moment of counting
`at` defaults to now, and `t = min(at, end of the period)`. An event counts when it happened in
[start, t]; a step is late when it was done after its due time, or when it is still undone at
`t` with its due time before `t` (never by comparing a deadline still in the future). Rates
divide by what should have happened, and are null when that is nothing. The SQL is in
`cases/sql/evaluation_*.sql`: the period's events and the clocks at `t`, then one set of facts
per kind of row; the numbers are sums of facts, and the cases behind any number are the facts'
cases (`cases_behind`), because departments dispute their rankings case by case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from cases.flow import CENTRE_STEPS
from cases.worktime import CST
from gis.errors import BadInput
from gis.sql import sql_text
from grid.districts import get_district
from grid.tables import street as street_t

BY = ("district", "street", "grid", "department", "post", "person")
KIND = {"district": "area", "street": "area", "grid": "area", "department": "department",
        "post": "post", "person": "post"}


@dataclass(frozen=True)
class Indicator:
    key: str
    name: str                        # 中文, as a report shows it
    of: tuple[str, str] | None = None   # a rate: numerator, denominator


def _i(key: str, name: str, of: tuple[str, str] | None = None) -> Indicator:
    return Indicator(key, name, of)


INDICATORS: dict[str, list[Indicator]] = {
    "area": [
        _i("reported", "上报数"), _i("public_reported", "公众举报数"),
        _i("public_confirmed", "公众举报核实数"), _i("filed", "立案数"),
        _i("suspended", "挂账数"), _i("cancelled", "作废数"), _i("closed", "结案数"),
        _i("closed_on_time", "按期结案数"), _i("overdue_open", "超期未结数"),
        _i("due_to_close", "应结案数"), _i("self_handled", "自行处置数"),
        _i("close_rate", "结案率", ("closed", "due_to_close")),
        _i("on_time_close_rate", "按期结案率", ("closed_on_time", "due_to_close")),
        _i("public_rate", "监督举报率", ("public_confirmed", "filed")),
    ],
    "department": [
        _i("to_handle", "应处置数"), _i("handled", "处置数"),
        _i("handled_on_time", "按期处置数"), _i("overdue_unhandled", "超期待处置数"),
        _i("reworked", "返工数"), _i("extended", "延期数"), _i("returned", "退回数"),
        _i("handle_rate", "处置率", ("handled", "to_handle")),
        _i("on_time_handle_rate", "按期处置率", ("handled_on_time", "to_handle")),
        _i("rework_rate", "返工率", ("reworked", "handled")),
        _i("overdue_rate", "超期待处置率", ("overdue_unhandled", "to_handle")),
        _i("extension_rate", "延期率", ("extended", "to_handle")),
    ],
    "监督员": [
        _i("reports", "上报数"), _i("valid_reports", "有效上报数"),
        _i("self_handled", "自行处置数"), _i("to_verify", "应核实数"),
        _i("verified_on_time", "按时核实数"), _i("to_check", "应核查数"),
        _i("checked_on_time", "按时核查数"), _i("missed", "漏报数"),
        _i("valid_report_rate", "有效上报率", ("valid_reports", "reports")),
        _i("verify_on_time_rate", "按时核实率", ("verified_on_time", "to_verify")),
        _i("check_on_time_rate", "按时核查率", ("checked_on_time", "to_check")),
    ],
    "受理员": [
        _i("to_accept", "应受理数"), _i("accepted", "受理数"),
        _i("accepted_on_time", "按时受理数"),
        _i("accept_on_time_rate", "按时受理率", ("accepted_on_time", "to_accept")),
    ],
    "值班长": [
        _i("to_file", "应立案数"), _i("filed", "立案数"), _i("filed_on_time", "按时立案数"),
        _i("cancelled", "作废数"), _i("accurately_filed", "准确立案数"),
        _i("to_close", "应结案数"), _i("closed", "结案数"), _i("closed_on_time", "按时结案数"),
        _i("file_on_time_rate", "按时立案率", ("filed_on_time", "to_file")),
        _i("accurate_file_rate", "准确立案率", ("accurately_filed", "filed")),
        _i("close_on_time_rate", "按时结案率", ("closed_on_time", "to_close")),
    ],
    "派遣员": [
        _i("to_dispatch", "应派遣数"), _i("dispatched", "派遣数"),
        _i("dispatched_on_time", "按时派遣数"),
        _i("returned_after_dispatch", "派遣后退回数"),
        _i("accurately_dispatched", "准确派遣数"),
        _i("dispatch_on_time_rate", "按时派遣率", ("dispatched_on_time", "to_dispatch")),
        _i("accurate_dispatch_rate", "准确派遣率", ("accurately_dispatched", "dispatched")),
    ],
}
POSTS = ("监督员", "受理员", "值班长", "派遣员")
# counts that are sums of other facts (the SQL gives the parts)
DERIVED = {"due_to_close": ("closed", "overdue_open"),
           "accurately_filed": ("filed", "-cancelled"),
           "accurately_dispatched": ("dispatched", "-returned_after_dispatch")}
FACTS = {
    "area": ("reported", "self_handled", "public_reported", "public_confirmed", "filed",
             "suspended", "cancelled", "closed", "closed_on_time", "overdue_open"),
    "department": ("handled", "handled_on_time", "reworked", "extended", "returned",
                   "overdue_unhandled", "to_handle"),
    "post": ("accepted", "accepted_on_time", "to_accept", "verified", "verified_on_time",
             "to_verify", "filed", "filed_on_time", "to_file", "dispatched",
             "dispatched_on_time", "to_dispatch", "checked", "checked_on_time", "to_check",
             "closed", "closed_on_time", "to_close", "reports", "valid_reports", "self_handled",
             "missed", "cancelled", "returned_after_dispatch"),
}
# A post's facts are rows of steps, each owed (done in the period or overdue at t), done, done on
# time; a step's three counts are their sums over its rows.
STEP_FACTS = {"accept": ("accepted", "accepted_on_time", "to_accept"),
              "confirm": ("verified", "verified_on_time", "to_verify"),
              "file": ("filed", "filed_on_time", "to_file"),
              "dispatch": ("dispatched", "dispatched_on_time", "to_dispatch"),
              "check": ("checked", "checked_on_time", "to_check"),
              "close": ("closed", "closed_on_time", "to_close")}
STEP_COLUMNS = ("done", "on_time", "owed")
# the other facts of a post's rows (FACTS["post"] less the steps' counts)
POST_COLUMNS = ("reports", "valid_reports", "self_handled", "missed", "cancelled",
                "returned_after_dispatch")


def _sum(kind: str, fact: str) -> str:
    """The SQL that sums one fact over the facts' rows of a kind (or over their sums by step)."""
    for step, counts in STEP_FACTS.items():
        if kind == "post" and fact in counts:
            column = STEP_COLUMNS[counts.index(fact)]
            return f"coalesce(sum({column}) FILTER (WHERE step = '{step}'), 0)"
    return f"coalesce(sum({fact}), 0)"


@dataclass(frozen=True)
class Period:
    district: str
    start: date
    end: date                     # inclusive
    at: datetime                  # the moment of counting
    patrols: tuple[tuple[str, str], ...] = ()    # (监督员, grid) pairs

    @property
    def t(self) -> datetime:
        """min(at, end of the period): the moment events and clocks are counted at."""
        end = datetime.combine(self.end + timedelta(days=1), time(0), CST) \
            - timedelta(microseconds=1)
        return min(self.at, end)

    def params(self) -> dict[str, Any]:
        centre = list(CENTRE_STEPS)
        return {"district": self.district, "start": datetime.combine(self.start, time(0), CST),
                "t": self.t, "patrol_persons": [p for p, _ in self.patrols],
                "patrol_grids": [g for _, g in self.patrols],
                "steps": [k for k, _ in centre], "holders": [h for _, h in centre],
                "centre_steps": centre}


def period(session: Session, district: str, start: date, end: date,
           at: datetime | None = None, patrols: Sequence[tuple[str, str]] = ()) -> Period:
    code = get_district(session, district).code
    if end < start:
        raise BadInput(f"to：{end} 早于 from：{start} (to {end} is before from {start})")
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=CST)
    now = at or session.execute(sa.select(sa.func.now())).scalar_one()
    return Period(code, start, end, now, tuple(patrols))


def _key(by: str) -> tuple[str, ...]:
    """The key columns of the facts for a grouping."""
    return {"district": (), "street": ("street_code",), "grid": ("grid_code",),
            "department": ("key",), "post": ("post",), "person": ("post", "person")}[by]


def _statement(sql: str) -> sa.TextClause:
    """The statement, the centre's steps and their posts given as a list of pairs: the planner
    sees the values (and the statistics on them), so it knows how many events a pass keeps."""
    statement = sa.text(sql)
    if ":centre_steps" in sql:
        statement = statement.bindparams(sa.bindparam("centre_steps", expanding=True))
    return statement


def _facts(kind: str) -> str:
    return (f"WITH {sql_text('cases', 'evaluation_clocks')}, "
            f"facts AS ({sql_text('cases', f'evaluation_{kind}')})")


def _grouping(by: str) -> sa.TextClause:
    """The statement that sums a kind's facts by the grouping's keys."""
    if by not in BY:
        raise BadInput(f"by：{by!r} 不是 {'、'.join(BY)} 之一 (by is not one of {', '.join(BY)})")
    kind = KIND[by]
    keys = _key(by)
    sums = ", ".join(f"{_sum(kind, f)} AS {f}" for f in FACTS[kind])
    select = ", ".join(keys) + ", " if keys else ""
    group = f" GROUP BY {', '.join(keys)}" if keys else ""
    rows_of = "facts"
    if kind == "post":
        # a post's rows are summed by step first: the steps' counts are then a few hundred
        # rows' pivot, not filters on every event
        by_step = ", ".join(f"sum({c}) AS {c}" for c in STEP_COLUMNS + POST_COLUMNS)
        rows_of = (f"(SELECT {select}step, {by_step} FROM facts "  # noqa: S608
                   f"GROUP BY {select}step) AS by_step")
    # facts and key columns are fixed names of ours, never the caller's
    return _statement(f"{_facts(kind)} SELECT {select}{sums} "  # noqa: S608
                      f"FROM {rows_of}{group}")


def evaluate(session: Session, p: Period, by: str) -> list[dict[str, Any]]:
    """The rows of a grouping, each with the indicators of its kind (counts and rates)."""
    statement = _grouping(by)
    kind, keys = KIND[by], _key(by)
    _plain(session)
    rows = session.execute(statement, p.params() | {"per_case": False}).mappings().all()
    names = _names(session, p.district, by)
    out = []
    for r in rows:
        counts = {f: int(r[f]) for f in FACTS[kind]}
        if by == "district":
            key, post = p.district, None
        elif by == "person":
            key, post = r["person"] or f"（{r['post']}，未指定）", r["post"]
        else:
            post = r["post"] if by == "post" else None
            key = r[keys[0]] if keys else p.district
            if key is None:
                continue                          # facts charged to no department
        table = INDICATORS[post] if kind == "post" and post in INDICATORS else INDICATORS.get(
            kind, [])
        if kind == "post" and post not in POSTS:
            continue                              # a post the evaluation does not score
        row: dict[str, Any] = {"key": key, "name": names.get(key, key)}
        if post:
            row["post"] = post
        row |= indicators(counts, table)
        out.append(row)
    out.sort(key=lambda r: (r.get("post") or "", str(r["key"])))
    return out


def _plain(session: Session) -> None:
    """No JIT for these statements: compiling them costs more than running them (0.15 s of a
    month's 0.3 s). A plan for the values given, always: the partial indexes an evaluation reads
    (ix_case_event_step) serve only statements whose steps the planner can see."""
    session.execute(sa.text("SET LOCAL jit = off"))
    session.execute(sa.text("SET LOCAL plan_cache_mode = force_custom_plan"))


def indicators(counts: dict[str, int], table: list[Indicator]) -> dict[str, Any]:
    """The table's indicators from the fact sums: counts, derived counts, then rates."""
    values: dict[str, Any] = dict(counts)
    for name, parts in DERIVED.items():
        if all(p.lstrip("-") in values for p in parts):
            values[name] = sum(-values[p[1:]] if p.startswith("-") else values[p]
                               for p in parts)
    out: dict[str, Any] = {}
    for ind in table:
        if ind.of is None:
            out[ind.key] = values[ind.key]
        else:
            num, den = values[ind.of[0]], values[ind.of[1]]
            out[ind.key] = round(num / den, 4) if den else None
    return out


def cases_behind(session: Session, p: Period, by: str, key: str, indicator: str) -> list[str]:
    """The case numbers a count is made of (a rate: its numerator's)."""
    kind = KIND.get(by)
    if kind is None:
        raise BadInput(f"by：{by!r} 不是 {'、'.join(BY)} 之一")
    fact = indicator
    for tables in INDICATORS.values():
        for ind in tables:
            if ind.key == indicator and ind.of:
                fact = ind.of[0]
    parts = DERIVED.get(fact, (fact,))
    positive = [x for x in parts if not x.startswith("-")]
    negative = [x[1:] for x in parts if x.startswith("-")]
    if not all(x in FACTS[kind] for x in positive + negative):
        raise BadInput(f"indicator：{indicator!r} 不是按 {by} 统计的指标 "
                       f"(not an indicator of rows by {by})")
    where, params = _where(by, key, p)
    have = " OR ".join(f"{_sum(kind, x)} > 0" for x in positive)
    lack = "".join(f" AND {_sum(kind, x)} = 0" for x in negative)
    # the facts, sums and key columns are fixed names of ours, never the caller's
    sql = (f"{_facts(kind)} SELECT number FROM facts WHERE true{where} "  # noqa: S608
           f"GROUP BY number HAVING ({have}){lack} ORDER BY number")
    _plain(session)
    rows = session.execute(_statement(sql), p.params() | params | {"per_case": True})
    return list(rows.scalars())


def _where(by: str, key: str, p: Period) -> tuple[str, dict[str, Any]]:
    if by == "district":
        return "", {}
    if by == "person":
        post, _, person = key.partition(":")
        if not person:
            raise BadInput("key：按人员统计时写作 岗位:姓名 (key is post:person for by=person)")
        return " AND post = :key_post AND person = :key_person", {"key_post": post,
                                                                    "key_person": person}
    column = _key(by)[0]
    return f" AND {column} = :key", {"key": key}


def _names(session: Session, district: str, by: str) -> dict[str, str]:
    if by == "district":
        return {district: get_district(session, district).name}
    if by == "street":
        return {r.code: r.name or r.code for r in session.execute(
            sa.select(street_t.c.code, street_t.c.name).where(
                street_t.c.district_code == district))}
    return {}
