"""History import: a county brings its old system's cases, and tests build exact histories.

`citygrid case import-history FILE.csv --district CODE`: one row per action, in file order,

    number, at, action, post, person, department, kind, class, lon, lat, source, description,
    extend_by, reason, satisfaction, self_handled   (unused ones empty; `note`, `condition` too)

`action=report` creates the case with the given number (`post` may be empty for a report from
公众); every other row applies its action at `at` (ISO 8601, China Standard Time when it has no
offset) under the same rules, limits and calendars as a live action (`cases.workflow.apply`).
`department` is the department the action names (dispatch: to whom; request_return: who is
responsible instead); a 专业部门 row otherwise acts as the department holding the case, and when
the column is given it must be that department. The rows of one case are in time order; rows of
different cases need not be. A row that breaks a rule is rejected with its reason, and the rest
of that case is skipped: the report says `read, imported, rejected, skipped, rejects[]`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from cases.intake import Report, report_case
from cases.workflow import Actor, apply
from cases.worktime import CST
from gis.csvfile import read_csv
from gis.errors import BadInput, CitygridError
from grid.districts import get_district
from lookup.index import LookupIndex
from lookup.resolve import Resolver
from lookup.settings import LookupSettings

COLUMNS = ("number", "at", "action")
FLAGS = {"true", "1", "yes", "y", "是", "t"}


@dataclass(frozen=True)
class Refused:
    row: int            # 1: the first row under the header
    code: str           # the case number
    reason: str         # stable word: the error's code
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "code": self.code, "reason": self.reason,
                "message": self.message}


@dataclass
class HistoryReport:
    district: str
    source: str
    encoding: str = ""
    read: int = 0
    imported: int = 0
    skipped: int = 0
    cases: int = 0
    rejects: list[Refused] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.rejects)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "case history", "district": self.district, "source": self.source,
                "encoding": self.encoding, "read": self.read, "imported": self.imported,
                "rejected": self.rejected, "skipped": self.skipped, "cases": self.cases,
                "rejects": [r.to_dict() for r in self.rejects]}

    def summary(self) -> str:
        return (f"case history imported for {self.district} from {self.source}: read "
                f"{self.read}, imported {self.imported} ({self.cases} cases), rejected "
                f"{self.rejected}, skipped {self.skipped}")


def parse_at(text: str) -> datetime:
    value = (text or "").strip()
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"时间 {value!r} 不是 ISO 8601 (at {value!r} is not ISO 8601, e.g. "
                       "2026-11-02T09:30)") from None
    return at if at.tzinfo else at.replace(tzinfo=CST)


def import_history(session: Session, path: str | os.PathLike[str], district_code: str,
                   settings: LookupSettings | None = None) -> HistoryReport:
    """Replay the file's actions; each row in a savepoint of its own (the caller commits)."""
    district = get_district(session, district_code)
    rows, encoding = read_csv(path, required=COLUMNS)
    report = HistoryReport(district.code, Path(path).name, encoding)
    options = (settings or LookupSettings()).lookup_options()
    engine = session.get_bind()
    resolver = Resolver(LookupIndex(engine).load(only=[district.code]), options)  # type: ignore[arg-type]
    failed: set[str] = set()
    for i, raw in enumerate(rows, start=1):
        report.read += 1
        row = {k.strip(): (v or "").strip() for k, v in raw.items()}
        number = _number(row.get("number", ""), district.code)
        if number in failed:
            report.skipped += 1
            continue
        try:
            with session.begin_nested():
                _replay(session, resolver, district.code, number, row)
        except CitygridError as exc:
            report.rejects.append(Refused(i, number, exc.code, f"第 {i} 行：{exc.message}"))
            failed.add(number)
            continue
        report.imported += 1
        report.cases += row.get("action") == "report"
    return report


def _number(value: str, district: str) -> str:
    """Case numbers begin with their district's code (`341802-…`): one that does not gets it."""
    return value if value.startswith(f"{district}-") else f"{district}-{value}"


def _replay(session: Session, resolver: Resolver, district: str, number: str,
            row: dict[str, str]) -> None:
    if not row.get("number"):
        raise BadInput("number：案卷号为空 (the case number is empty)")
    at = parse_at(row.get("at", ""))
    action = row.get("action", "")
    if action == "report":
        _report(session, resolver, number, at, row)
        return
    department = row.get("department") or None
    names = action in ("dispatch", "request_return")
    actor = Actor(row.get("post") or "", row.get("person") or "",
                  department if (not names and row.get("post") == "专业部门") else None)
    apply(session, number, action, actor, note=row.get("note") or None,
          department=department if names else None, extend_by=row.get("extend_by") or None,
          reason=row.get("reason") or None, satisfaction=row.get("satisfaction") or None,
          condition_no=_int(row.get("condition"), "condition"), at=at)


def _report(session: Session, resolver: Resolver, number: str, at: datetime,
            row: dict[str, str]) -> None:
    from sqlalchemy import select

    from cases.tables import case_file

    if session.execute(select(case_file.c.number).where(
            case_file.c.district_code == number[:6], case_file.c.number == number)).first():
        raise _Duplicate(f"案卷号 {number} 已存在 (case {number} already exists)")
    try:
        lon, lat = float(row.get("lon", "")), float(row.get("lat", ""))
    except ValueError:
        raise BadInput(f"lon/lat：{row.get('lon')!r}, {row.get('lat')!r} 不是经纬度 "
                       "(not a longitude and latitude)") from None
    report_case(session, resolver, Report(
        lon=lon, lat=lat, class_code=row.get("class", ""), kind=row.get("kind") or None,
        description=row.get("description", ""), source=row.get("source") or "监督员上报",
        person=row.get("person") or None, post=row.get("post") or None,
        condition_no=_int(row.get("condition"), "condition"),
        self_handled=(row.get("self_handled") or "").lower() in FLAGS), at=at, number=number)


def _int(value: str | None, name: str) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise BadInput(f"{name}：{value!r} 不是整数 (not a whole number)") from None


class _Duplicate(BadInput):
    code = "duplicate_number"
