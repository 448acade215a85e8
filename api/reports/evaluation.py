"""The monthly evaluation report's content: for a district and a month, the rows of each kind —
streets, departments, and each post's persons — with their indicators, score, grade and rank,
and the cases behind every number (departments dispute their rankings case by case)."""

from __future__ import annotations

import calendar as monthly
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from api.tokens import patrols
from cases.evaluation import INDICATORS, Indicator, Period, evaluate, period
from cases.scoring import Scheme, scheme_for, score_rows
from gis.errors import BadInput
from grid.districts import get_district

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass
class Section:
    title: str
    by: str
    indicators: list[Indicator]
    rows: list[dict[str, Any]] = field(default_factory=list)

    def link(self, p: Period, row: dict[str, Any], indicator: str) -> str:
        """The drill-down address of a number: the cases it is made of."""
        key = f"{row['post']}:{row['key']}" if self.by == "person" else str(row["key"])
        return "/reports/evaluation/cases?" + urlencode({
            "district": p.district, "from": p.start.isoformat(), "to": p.end.isoformat(),
            "at": p.at.isoformat(), "by": self.by, "key": key, "indicator": indicator})


@dataclass
class Report:
    district: str
    name: str
    month: str
    period: Period
    scheme: str
    sections: list[Section]


def month_of(text: str) -> tuple[date, date]:
    m = _MONTH.match(text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise BadInput(f"month：{text!r} 不是 YYYY-MM (month {text!r} is not YYYY-MM)")
    year, mon = int(m.group(1)), int(m.group(2))
    return date(year, mon, 1), date(year, mon, monthly.monthrange(year, mon)[1])


def build(session: Session, district: str, start: date, end: date,
          at: datetime | None = None, scheme: Scheme | None = None) -> Report:
    d = get_district(session, district)
    p = period(session, d.code, start, end, at, patrols(session, d.code))
    scheme = scheme or scheme_for(session, d.code)

    def ranked(by: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        scored = score_rows(rows, by, scheme)
        scored.sort(key=lambda r: (-(r.get("score") or 0), str(r["key"])))
        for i, r in enumerate(scored, start=1):
            r["rank"] = i
        return scored

    sections = [Section("区域（街道）", "street", INDICATORS["area"],
                        ranked("street", evaluate(session, p, "street"))),
                Section("专业部门", "department", INDICATORS["department"],
                        ranked("department", evaluate(session, p, "department")))]
    people = evaluate(session, p, "person")
    for post in ("监督员", "受理员", "值班长", "派遣员"):
        sections.append(Section(f"岗位：{post}", "person", INDICATORS[post],
                                ranked("person", [r for r in people if r["post"] == post])))
    label = f"{start:%Y-%m}" if start.day == 1 and end == month_of(f"{start:%Y-%m}")[1] \
        else f"{start} 至 {end}"
    return Report(d.code, d.name, label, p, scheme.name, sections)
