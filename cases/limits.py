"""The handling manual (立案、处置和结案标准), the centre's step clocks, its duty hours and the
working calendar, as data in tables.

Shipped defaults (`cases/data/`) are loaded on every migration; a city replaces or extends them
with `citygrid manual import FILE` (its own rows, city-wide) or `--district CODE` (overrides for
one district), `citygrid calendar add FILE [--year YYYY]` (another year, or local adjustments)
and `citygrid calendar duty 08:00-20:00` (the centre's duty hours). The manual decides what can
be filed: a class with no row of its own (district, then city) is refused, unless the city gave
an explicit default row (class `*`), which then applies and marks the case.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from datetime import date, datetime, time
from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from cases.tables import (
    calendar_day,
    calendar_year,
    centre_step,
    duplicate_rule,
    duty_period,
    handling_rule,
    working_period,
)
from cases.worktime import (
    CST,
    Calendar,
    CalendarError,
    covered_until,
    parse_periods,
    parse_unit,
)
from gis.csvfile import read_csv
from gis.errors import BadInput
from gis.report import ImportReport

SHIPPED = "shipped with citygrid"
LOADED = "loaded from "
CITY = ""          # the scope of city-wide rows


WARN_DAYS = 30        # a calendar that ends this soon is warned about


class NoHandlingRule(BadInput):
    code = "no_handling_rule"


@dataclass(frozen=True)
class Calendars:
    """The two calendars a case's clocks run on: the departments' working calendar and the
    centre's duty calendar."""

    working: Calendar
    duty: Calendar


@dataclass(frozen=True)
class Stage:
    stage_no: int
    name: str | None
    limit_value: float
    limit_unit: str
    closing_condition: str | None


@dataclass(frozen=True)
class Condition:
    """One filing condition (立案条件) of a class, with its staged limits."""

    condition_no: int
    filing_condition: str
    stages: tuple[Stage, ...]
    scope: str                   # '' city, or the district that overrides
    class_code: str              # the class, or '*' for the manual's default

    def to_dict(self) -> dict[str, Any]:
        return {"condition_no": self.condition_no, "filing_condition": self.filing_condition,
                "scope": self.scope or "city", "default": self.class_code == "*",
                "stages": [{"stage_no": s.stage_no, "name": s.name, "limit": s.limit_value,
                            "unit": s.limit_unit, "closing_condition": s.closing_condition}
                           for s in self.stages]}


def _data(name: str) -> list[dict[str, str]]:
    text = resources.files("cases").joinpath("data", *name.split("/")).read_text("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def sync_reference_data(conn: Connection | Session) -> None:
    """Load the shipped manual, step clocks and calendar; rows a city loaded stay as they are."""
    # Shipped rows (city-wide, not loaded by the city) that the shipped manual no longer has go,
    # such as the silent defaults ('*') of earlier versions.
    shipped = [_rule_values(r, CITY, SHIPPED) for r in _data("handling_manual.csv")]
    keys = {(v["scheme"], v["kind"], v["class_code"]) for v in shipped}
    for r in conn.execute(sa.select(handling_rule.c.scheme, handling_rule.c.kind,
                                    handling_rule.c.class_code).distinct().where(
            handling_rule.c.scope == CITY,
            sa.not_(handling_rule.c.provenance.startswith(LOADED)))).all():
        if (r.scheme, r.kind, r.class_code) not in keys:
            conn.execute(sa.delete(handling_rule).where(
                handling_rule.c.scope == CITY, handling_rule.c.scheme == r.scheme,
                handling_rule.c.kind == r.kind, handling_rule.c.class_code == r.class_code,
                sa.not_(handling_rule.c.provenance.startswith(LOADED))))
    # A class whose city-wide rows a city loaded itself keeps exactly those rows.
    loaded = {(r.scheme, r.kind, r.class_code) for r in conn.execute(
        sa.select(handling_rule.c.scheme, handling_rule.c.kind, handling_rule.c.class_code)
        .where(handling_rule.c.scope == CITY, handling_rule.c.provenance.startswith(LOADED)))}
    rows = [v for v in shipped if (v["scheme"], v["kind"], v["class_code"]) not in loaded]
    if rows:
        stmt = insert(handling_rule).values(rows)
        conn.execute(stmt.on_conflict_do_update(
            index_elements=list(handling_rule.primary_key.columns),
            set_={c: stmt.excluded[c] for c in ("filing_condition", "stage_name",
                                                "limit_value", "limit_unit",
                                                "closing_condition", "provenance")}))
    steps = [{"scope": CITY, "step": r["step"], "limit_value": float(r["limit_value"]),
              "limit_unit": parse_unit(r["limit_unit"]), "note": r["note"]}
             for r in _data("centre_steps.csv")]
    conn.execute(insert(centre_step).values(steps).on_conflict_do_nothing())
    dups = [{"scope": CITY, "scheme": r["scheme"], "kind": r["kind"],
             "class_code": r["class_code"], "radius_m": float(r["radius_m"]),
             "window_hours": float(r["window_hours"])} for r in _data("duplicate_rules.csv")]
    conn.execute(insert(duplicate_rule).values(dups).on_conflict_do_nothing())
    days = [{"day": date.fromisoformat(r["date"]), "kind": r["kind"], "name": r["name"],
             "source": SHIPPED}
            for name in _calendar_files() for r in _data(f"calendar/{name}")]
    if days:
        conn.execute(insert(calendar_day).values(days).on_conflict_do_nothing())
    years = [{"year": int(name[:4]), "source": SHIPPED} for name in _calendar_files()
             if name[:4].isdigit()]
    if years:
        conn.execute(insert(calendar_year).values(years).on_conflict_do_nothing())
    if not conn.execute(sa.select(sa.func.count()).select_from(duty_period)).scalar():
        conn.execute(sa.insert(duty_period), [
            {"start": time.fromisoformat(r["start"]), "end": time.fromisoformat(r["end"])}
            for r in _data("duty_periods.csv")])
    if not conn.execute(sa.select(sa.func.count()).select_from(working_period)).scalar():
        conn.execute(sa.insert(working_period), [
            {"start": time.fromisoformat(r["start"]), "end": time.fromisoformat(r["end"])}
            for r in _data("working_periods.csv")])


def _calendar_files() -> list[str]:
    folder = resources.files("cases").joinpath("data", "calendar")
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".csv"))


def _rule_values(r: dict[str, str], scope: str, provenance: str) -> dict[str, Any]:
    return {"scope": scope, "scheme": r["scheme"].strip(), "kind": r["kind"].strip(),
            "class_code": r["class_code"].strip(), "condition_no": int(r["condition_no"]),
            "stage_no": int(r.get("stage_no") or 1),
            "filing_condition": r["filing_condition"].strip(),
            "stage_name": (r.get("stage_name") or "").strip() or None,
            "limit_value": float(r["limit_value"]), "limit_unit": parse_unit(r["limit_unit"]),
            "closing_condition": (r.get("closing_condition") or "").strip() or None,
            "provenance": r.get("provenance") or provenance}


def calendar(session: Session | Connection) -> Calendar:
    """The departments' working calendar, with the last day its holidays are known."""
    periods = [(r.start, r.end) for r in session.execute(
        sa.select(working_period).order_by(working_period.c.start))]
    cal = Calendar(periods=periods) if periods else Calendar()
    cal.add_days({"date": r.day.isoformat(), "kind": r.kind, "name": r.name or ""}
                 for r in session.execute(sa.select(calendar_day).order_by(calendar_day.c.day)))
    cal.covered_until = covered_until(session.execute(sa.select(calendar_year.c.year)).scalars())
    return cal


def calendars(session: Session | Connection) -> Calendars:
    periods = [(r.start, r.end) for r in session.execute(
        sa.select(duty_period).order_by(duty_period.c.start))]
    return Calendars(calendar(session), Calendar.duty(periods or parse_periods("7x24")))


def set_duty(session: Session, text: str) -> list[tuple[time, time]]:
    """The centre's duty hours, every day: '7x24', '08:00-20:00', '08:00-12:00,14:00-22:00'."""
    try:
        periods = parse_periods(text)
    except CalendarError as exc:
        raise BadInput(f"值班时段：{exc}") from None
    session.execute(sa.delete(duty_period))
    session.execute(sa.insert(duty_period), [{"start": a, "end": b} for a, b in periods])
    return periods


def calendar_status(session: Session | Connection, today: date | None = None) -> dict[str, Any]:
    """Which years' holidays are loaded, until when deadlines are exact, and a warning when that
    end is near (WARN_DAYS) or past."""
    years = sorted(session.execute(sa.select(calendar_year.c.year)).scalars())
    until = covered_until(years)
    now = today or datetime.now(CST).date()
    left = (until - now).days if until else None
    warning = None
    if until is None:
        warning = "工作日历未导入任何年份的节假日安排：期限按周末计算，均为临时期限"
    elif left is not None and left < 0:
        warning = (f"工作日历只覆盖到 {until}，已过期 {-left} 天：此后的期限按周末计算、标为临时；"
                   f"请用 citygrid calendar add FILE --year {until.year + 1} 导入节假日安排")
    elif left is not None and left <= WARN_DAYS:
        warning = (f"工作日历只覆盖到 {until}（还剩 {left} 天）：请在此前用 citygrid calendar add "
                   f"FILE --year {until.year + 1} 导入 {until.year + 1} 年的节假日和调休安排")
    duty = [(r.start, r.end) for r in session.execute(
        sa.select(duty_period).order_by(duty_period.c.start))]
    return {"years": years, "covered_until": until.isoformat() if until else None,
            "days_left": left, "warning": warning,
            "duty": ",".join(f"{a:%H:%M}-{'24:00' if b == time(0) else f'{b:%H:%M}'}"
                             for a, b in duty) or "00:00-24:00"}


def conditions(session: Session, district_code: str, scheme: str, kind: str,
               class_code: str) -> list[Condition]:
    """The filing conditions of a class, the most specific scope first."""
    rows = session.execute(sa.select(handling_rule).where(
        handling_rule.c.scope.in_([district_code, CITY]), handling_rule.c.scheme == scheme,
        handling_rule.c.kind == kind, handling_rule.c.class_code.in_([class_code, "*"]))
        .order_by(handling_rule.c.condition_no, handling_rule.c.stage_no)).all()
    for scope in (district_code, CITY):
        for code in (class_code, "*"):
            mine = [r for r in rows if r.scope == scope and r.class_code == code]
            if mine:
                return _group(mine)
    return []


def _group(rows: list[Any]) -> list[Condition]:
    out: dict[int, list[Any]] = {}
    for r in rows:
        out.setdefault(r.condition_no, []).append(r)
    return [Condition(n, rs[0].filing_condition,
                      tuple(Stage(r.stage_no, r.stage_name, r.limit_value, r.limit_unit,
                                  r.closing_condition) for r in rs),
                      rs[0].scope, rs[0].class_code)
            for n, rs in sorted(out.items())]


def condition(session: Session, district_code: str, scheme: str, kind: str, class_code: str,
              condition_no: int | None = None) -> Condition:
    found = conditions(session, district_code, scheme, kind, class_code)
    what = "部件" if kind == "component" else "事件"
    if not found:
        raise NoHandlingRule(
            f"立案、处置和结案标准（处置手册）中没有{what}类别 {class_code}（{scheme}）的条目，"
            f"不能立案：请用 citygrid manual import 导入该类别的立案条件和处置时限 (the handling "
            f"manual has "
            f"no row for {kind} class {class_code}; add one with citygrid manual import)",
            detail={"class": class_code, "kind": kind, "scheme": scheme})
    if condition_no is None:
        return found[0]
    for c in found:
        if c.condition_no == condition_no:
            return c
    listed = "，".join(f"{c.condition_no} {c.filing_condition}" for c in found)
    raise BadInput(f"立案条件：类别 {class_code} 没有第 {condition_no} 条立案条件（它有：{listed}）"
                   f" (class {class_code} has no filing condition {condition_no})")


def step_limit(session: Session, district_code: str, step: str) -> tuple[float, str] | None:
    rows = {r.scope: r for r in session.execute(sa.select(centre_step).where(
        centre_step.c.step == step, centre_step.c.scope.in_([district_code, CITY])))}
    row = rows.get(district_code) or rows.get(CITY)
    return (row.limit_value, row.limit_unit) if row else None


def duplicate_window(session: Session, district_code: str, scheme: str, kind: str,
                     class_code: str) -> tuple[float, float]:
    """(radius in metres, window in hours) for duplicate suggestions of a class."""
    rows = session.execute(sa.select(duplicate_rule).where(
        duplicate_rule.c.scope.in_([district_code, CITY]), duplicate_rule.c.scheme == scheme,
        duplicate_rule.c.kind == kind, duplicate_rule.c.class_code.in_([class_code, "*"]))).all()
    for scope in (district_code, CITY):
        for code in (class_code, "*"):
            for r in rows:
                if r.scope == scope and r.class_code == code:
                    return r.radius_m, r.window_hours
    return 50.0, 72.0


MANUAL_COLUMNS = ("scheme", "kind", "class_code", "condition_no", "filing_condition",
                  "limit_value", "limit_unit")


def import_manual(session: Session, path: str | os.PathLike[str],
                  district_code: str | None = None) -> ImportReport:
    """Load handling-manual rows (CSV, the columns of cases/data/handling_manual.csv): the
    city's, or overrides for one district. Rows of the same class and scope are replaced."""
    p = Path(path)
    rows_in, encoding = read_csv(p, required=MANUAL_COLUMNS)
    scope = district_code or CITY
    report = ImportReport(kind="handling manual", district=district_code or "*",
                          source=str(path), encoding=encoding)
    rows: list[dict[str, Any]] = []
    for i, raw in enumerate(rows_in, start=1):
        report.read += 1
        try:
            values = _rule_values(raw, scope, f"{LOADED}{p.name}")
            values["provenance"] = f"{LOADED}{p.name}" + (
                f": {raw['provenance']}" if raw.get("provenance") else "")
            if values["scheme"] not in ("legacy", "gb47678") or values["kind"] not in (
                    "component", "event"):
                raise ValueError(f"编码标准 {values['scheme']!r} 应为 legacy 或 gb47678，类型 "
                                 f"{values['kind']!r} 应为 component 或 event (scheme/kind "
                                 f"{values['scheme']}/{values['kind']})")
        except (ValueError, KeyError, CalendarError) as exc:
            report.reject(i, (raw.get("class_code") or None), "bad_row", f"第 {i} 行：{exc}")
            continue
        rows.append(values)
    classes = {(r["scheme"], r["kind"], r["class_code"]) for r in rows}
    for scheme, kind, code in classes:
        session.execute(sa.delete(handling_rule).where(
            handling_rule.c.scope == scope, handling_rule.c.scheme == scheme,
            handling_rule.c.kind == kind, handling_rule.c.class_code == code))
    if rows:
        session.execute(sa.insert(handling_rule), rows)
    report.imported = len(rows)
    return report


def add_calendar(session: Session, path: str | os.PathLike[str],
                 year: int | None = None) -> ImportReport:
    """Calendar days (CSV: date, kind holiday|workday, name): local changes, or with `year` a
    whole year's schedule (the State Council's notice), which then counts as covered."""
    p = Path(path)
    rows, encoding = read_csv(p, required=("date", "kind"))
    report = ImportReport(kind="calendar", district="*", source=str(path), encoding=encoding)
    if year is not None and not 2000 <= year <= 2100:
        raise BadInput(f"--year {year} 不是本世纪的年份 (--year {year} is not a year of this "
                       "century)")
    for i, r in enumerate(rows, start=1):
        report.read += 1
        try:
            day = date.fromisoformat((r.get("date") or "").strip())
        except ValueError:
            report.reject(i, r.get("date"), "bad_date", f"第 {i} 行：日期 {r.get('date')!r} 不是 "
                                                        "YYYY-MM-DD 格式 "
                                                        f"(row {i}: not YYYY-MM-DD)")
            continue
        kind = (r.get("kind") or "").strip()
        if kind not in ("holiday", "workday"):
            report.reject(i, r.get("date"), "bad_kind", f"第 {i} 行：类型 {kind!r} 应为 "
                                                        "holiday（节假日）或 workday（调休上班） "
                                                        f"(row {i}: kind {kind!r} is not "
                                                        "holiday or workday)")
            continue
        old = session.execute(sa.select(calendar_day).where(calendar_day.c.day == day)).first()
        name = (r.get("name") or "").strip() or None
        if old is not None and (old.kind, old.name) == (kind, name):
            report.unchanged += 1
            continue
        stmt = insert(calendar_day).values(day=day, kind=kind, name=name, source=p.name)
        session.execute(stmt.on_conflict_do_update(
            index_elements=[calendar_day.c.day],
            set_={"kind": stmt.excluded.kind, "name": stmt.excluded.name,
                  "source": stmt.excluded.source}))
        if old is None:
            report.imported += 1
        else:
            report.updated += 1
    if year is not None:
        days = [r for r in rows if (r.get("date") or "").strip().startswith(f"{year}-")]
        if not any((r.get("kind") or "").strip() == "holiday" for r in days):
            raise BadInput(f"{p.name} 没有 {year} 年的节假日，不是该年的放假安排"
                           "（--year 表示整年的节假日已齐全） "
                           f"({p.name} lists no holiday of {year}: it is not that year's "
                           "schedule; --year marks a whole year as covered)")
        stmt = insert(calendar_year).values(year=year, source=p.name)
        session.execute(stmt.on_conflict_do_update(index_elements=[calendar_year.c.year],
                                                   set_={"source": stmt.excluded.source,
                                                         "loaded_at": sa.func.now()}))
        report.extra["covers"] = year
    return report
