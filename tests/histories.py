"""Case histories as a county's old system exports them (`case import-history`): the rows of
tests that build exact histories on the tiny county (tests/tiny.py)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from cases.history import import_history
from cases.store import get_case
from cases.worktime import CST
from tests import tiny

COLUMNS = ("number", "at", "action", "post", "person", "department", "kind", "class", "lon",
           "lat", "source", "description", "extend_by", "reason", "satisfaction",
           "self_handled")
GARBAGE = (-50, -80)                   # 暴露垃圾 here goes to 城管局 (the 权责清单)


def t(*args: int) -> str:
    return datetime(*args, tzinfo=CST).isoformat()


def report(number: str, at: str, post: str = "监督员", person: str = "张监督",
           cls: str = "0102", kind: str = "event", where: tuple[float, float] = GARBAGE,
           source: str = "监督员上报", **kw: str) -> dict[str, str]:
    lon, lat = tiny.lonlat(*where)
    return {"number": number, "at": at, "action": "report", "post": post, "person": person,
            "kind": kind, "class": cls, "lon": f"{lon:.9f}", "lat": f"{lat:.9f}",
            "source": source, "description": "路边垃圾成堆", **kw}


def act(number: str, at: str, action: str, post: str, person: str, **kw: str) -> dict[str, str]:
    return {"number": number, "at": at, "action": action, "post": post, "person": person, **kw}


def through_dispatch(number: str, day: int = 2) -> list[dict[str, str]]:
    """A 监督员's report on 2026-11-{day} 09:00, accepted, filed and dispatched at 09:15 to 城管局
    (4 工作时: due 15:15 the same day)."""
    return [report(number, t(2026, 11, day, 9, 0)),
            act(number, t(2026, 11, day, 9, 5), "accept", "受理员", "王受理"),
            act(number, t(2026, 11, day, 9, 10), "file", "值班长", "钱值班"),
            act(number, t(2026, 11, day, 9, 15), "dispatch", "派遣员", "赵派遣")]


def write(tmp_path: Path, rows: list[dict[str, str]], name: str = "history.csv") -> Path:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path = tmp_path / name
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def replay(engine, tmp_path, rows):
    with Session(engine) as s:
        result = import_history(s, write(tmp_path, rows), tiny.CODE)
        s.commit()
    return result


def case(engine, number):
    with Session(engine) as s:
        return get_case(s, f"341802-{number}")
