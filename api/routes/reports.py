"""`GET /reports/evaluation?district=&month=`: the monthly evaluation a 考核办 prints and files,
as a Chinese HTML page, `.xlsx` or `.csv`; and the cases behind any of its numbers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.auth import Principal
from api.deps import Db, principal, require
from api.reports import html, sheets
from api.reports.evaluation import build, month_of
from api.tokens import patrols
from cases.evaluation import BY, INDICATORS, cases_behind, evaluate, period
from cases.scoring import scheme_for, score_rows
from cases.store import summaries
from gis.errors import BadInput

router = APIRouter(tags=["evaluation"])
Month = Annotated[str, Query(description="YYYY-MM", pattern=r"^\d{4}-\d{2}$")]
At = Annotated[datetime | None, Query(description="the moment of counting (default: now)")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def page_reader(request: Request) -> Principal | None:
    """A browser opening a report has no Authorization header: it gets the shell, which asks
    again with the token it keeps; anyone else is checked as usual."""
    if not request.headers.get("authorization"):
        return None
    return await require("read")(await principal(request))


Viewer = Annotated[Principal | None, Depends(page_reader)]


@router.get("/reports/evaluation", response_class=HTMLResponse)
def report_page(request: Request, who: Viewer, db: Db, district: str, month: Month,
                at: At = None) -> Response:
    """The month's evaluation as a printable Chinese page (A4), with charts."""
    if who is None:
        return HTMLResponse(html.SHELL)
    start, end = month_of(month)
    return HTMLResponse(html.page(build(db, district, start, end, at)))


@router.get("/reports/evaluation.xlsx", response_class=Response,
            responses={200: {"content": {XLSX: {}}}})
def report_workbook(request: Request, who: Viewer, db: Db, district: str, month: Month,
                    at: At = None) -> Response:
    """The same as a workbook: a sheet per kind of row, counts linked to their cases."""
    if who is None:
        return HTMLResponse(html.SHELL, status_code=401)
    start, end = month_of(month)
    report = build(db, district, start, end, at)
    body = sheets.workbook(report, str(request.base_url))
    name = f"evaluation-{report.district}-{month}.xlsx"
    return Response(body, media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/reports/evaluation.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
def report_csv(who: Viewer, db: Db, district: str, month: Month,
               by: Literal["district", "street", "grid", "department", "post", "person"] =
               "department", at: At = None) -> Response:
    """One grouping of the month as CSV (UTF-8 with a BOM, as Excel opens it)."""
    if who is None:
        return HTMLResponse(html.SHELL, status_code=401)
    start, end = month_of(month)
    p = period(db, district, start, end, at, patrols(db, district))
    rows = score_rows(evaluate(db, p, by), by, scheme_for(db, p.district))
    kind = {"department": "department", "post": None, "person": None}.get(by, "area")
    indicators = INDICATORS[kind] if kind else [
        i for post in ("监督员", "受理员", "值班长", "派遣员") for i in INDICATORS[post]]
    unique = list({i.key: i for i in indicators}.values())
    return Response(sheets.rows_csv(rows, unique, by), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition":
                             f'attachment; filename="evaluation-{p.district}-{month}-{by}.csv"'})


@router.get("/reports/evaluation/cases", response_class=HTMLResponse)
def report_cases(who: Viewer, db: Db, district: str,
                 from_: Annotated[date, Query(alias="from")], to: date, by: str, key: str,
                 indicator: str, at: At = None) -> Response:
    """The cases behind one number of the report."""
    if who is None:
        return HTMLResponse(html.SHELL)
    if by not in BY:
        raise BadInput(f"by：{by!r} 不是 {'、'.join(BY)} 之一")
    p = period(db, district, from_, to, at, patrols(db, district))
    numbers = cases_behind(db, p, by, key, indicator)
    names = {i.key: i.name for table in INDICATORS.values() for i in table}
    title = f"{key.split(':')[-1]} · {names.get(indicator, indicator)}（{from_} 至 {to}）"
    return HTMLResponse(html.cases_page(title, summaries(db, p.district, numbers)))
