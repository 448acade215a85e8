"""Evaluation (CJ/T 292 subset) computed from the case history: per district, department, grid
or street over a period of days (China Standard Time, `to` inclusive).

    上报数 reported        cases reported in the period
    立案数 filed           cases filed (立案) in the period
    结案数 closed          cases closed (结案) in the period
    按期结案数 closed_on_time   of those, handled within the disposal deadline (as extended)
    结案率 close_rate      结案数 / 立案数
    按期结案率 on_time_rate 按期结案数 / 应结案数, where 应结案数 = 结案数 + cases still open at
                          the end of the period whose clock had run out (超期未结)
    返工率 rework_rate     返工 (rework) actions / 处置 (handle) actions
    退回数 returned        退回 (return) actions
    超期未结 overdue_open  cases open at the end of the period past their current deadline
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from cases.worktime import CST
from gis.errors import BadInput
from gis.sql import statement
from grid.districts import get_district

BY = ("district", "department", "grid", "street")
_SQL = statement("cases", "stats")
COUNTS = ("reported", "filed", "closed", "closed_on_time", "handled", "reworked", "returned",
          "overdue_open")


def _rates(row: dict[str, Any]) -> dict[str, Any]:
    def ratio(a: int, b: int) -> float | None:
        return round(a / b, 4) if b else None

    due = row["closed"] + row["overdue_open"]
    return {**row, "close_rate": ratio(row["closed"], row["filed"]),
            "on_time_rate": ratio(row["closed_on_time"], due),
            "rework_rate": ratio(row["reworked"], row["handled"])}


def stats(session: Session, district_code: str, start: date, end: date,
          by: str = "district") -> dict[str, Any]:
    if by not in BY:
        raise BadInput(f"by: {by!r} is not one of {', '.join(BY)}")
    if end < start:
        raise BadInput(f"to: {end} is before from: {start}")
    district = get_district(session, district_code)
    t0 = datetime.combine(start, time(0), CST)
    t1 = datetime.combine(end + timedelta(days=1), time(0), CST)
    rows = session.execute(_SQL, {"district": district.code, "start": t0, "end": t1,
                                  "by": by}).all()
    groups = []
    for r in rows:
        counts = {k: int(getattr(r, k)) for k in COUNTS}
        groups.append(_rates({"key": r.key, "name": r.name, **counts}))
    total = _rates({k: sum(g[k] for g in groups) for k in COUNTS})
    return {"district": district.code, "from": start.isoformat(), "to": end.isoformat(),
            "by": by, "groups": groups, "total": total}
