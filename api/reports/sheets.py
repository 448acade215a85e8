"""The evaluation as spreadsheets: an XLSX workbook (a sheet per kind of row, each count linked
to the cases behind it) and CSV (the rows of one grouping)."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from api.reports.evaluation import Report, Section
from cases.evaluation import Indicator

HEAD = Font(bold=True)
FILL = PatternFill("solid", fgColor="EEF2F7")


def _columns(section: Section) -> list[str]:
    post = ["岗位"] if section.by in ("post", "person") else []
    return ["排名", "对象", *post, *(i.name for i in section.indicators), "得分", "等级"]


def _values(section: Section, row: dict[str, Any]) -> list[Any]:
    post = [row.get("post")] if section.by in ("post", "person") else []
    return [row.get("rank"), row["name"], *post,
            *(row.get(i.key) for i in section.indicators), row.get("score"), row.get("grade")]


def workbook(report: Report, base_url: str) -> bytes:
    """One sheet of notes, then one sheet per section; a count with cases behind it links to
    the page that lists them (`base_url`: the server's address)."""
    wb = Workbook()
    notes = wb.active
    notes.title = "说明"
    p = report.period
    for line in (f"{report.name}数字化城市管理绩效评价（{report.month}）",
                 f"区划代码：{report.district}", f"统计期：{p.start} 至 {p.end}",
                 f"统计时点：{p.t:%Y-%m-%d %H:%M}", f"考核办法：{report.scheme}",
                 "超期按统计时点判定，迟办计入当时承办的部门或岗位。",
                 "各表中带链接的数字可打开对应案件清单（需访问令牌）。"):
        notes.append([line])
    notes["A1"].font = Font(bold=True, size=14)
    notes.column_dimensions["A"].width = 60
    for section in report.sections:
        ws = wb.create_sheet(section.title.replace("：", "-")[:31])
        ws.append(_columns(section))
        for cell in ws[1]:
            cell.font, cell.fill = HEAD, FILL
            cell.alignment = Alignment(horizontal="center")
        offset = 3 if section.by in ("post", "person") else 2
        for r, row in enumerate(section.rows, start=2):
            ws.append(_values(section, row))
            for c, ind in enumerate(section.indicators, start=offset + 1):
                _link(ws.cell(row=r, column=c), section, report, row, ind, base_url)
        for c, name in enumerate(_columns(section), start=1):
            ws.column_dimensions[get_column_letter(c)].width = max(8, len(name) * 2 + 2)
        ws.freeze_panes = "C2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _link(cell: Any, section: Section, report: Report, row: dict[str, Any], ind: Indicator,
          base_url: str) -> None:
    if ind.of is not None:
        cell.number_format = "0.0%"
    counted = row.get(ind.key) if ind.of is None else row.get(ind.of[0])
    if counted:
        cell.hyperlink = base_url.rstrip("/") + section.link(report.period, row, ind.key)
        cell.font = Font(color="1A5FB4", underline="single")


def rows_csv(section_rows: list[dict[str, Any]], indicators: list[Indicator],
             by: str) -> str:
    """The rows of one grouping as CSV, with Chinese column names (UTF-8 with a BOM, as Excel
    in China opens it)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    post = ["岗位"] if by in ("post", "person") else []
    writer.writerow(["对象代码", "对象", *post, *(i.name for i in indicators), "得分", "等级"])
    for r in section_rows:
        writer.writerow([r["key"], r["name"], *([r.get("post")] if post else []),
                         *("" if r.get(i.key) is None else r.get(i.key) for i in indicators),
                         r.get("score", ""), r.get("grade", "")])
    return "\ufeff" + out.getvalue()
