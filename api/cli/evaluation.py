"""`citygrid stats`: the evaluation indicators (CJ/T 292) of a district over a period — JSON, an
aligned table, CSV, or the month's XLSX workbook — and `citygrid evaluation import`: the city's
考核办法 (weights, formulas, grade bands) from its TOML file."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from api.cli.base import BadOption, BadUsage, acting, cli, echo_err, session

BY = ("district", "street", "grid", "department", "post", "person")


@cli.command("stats")
@click.option("--district", "district_code", required=True)
@click.option("--from", "start", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--to", "end", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--by", type=click.Choice(BY), default="district", show_default=True)
@click.option("--at", help="The moment of counting, ISO 8601 (default: now).")
@click.option("--format", "fmt", type=click.Choice(["json", "table", "csv", "xlsx"]),
              default="json", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False),
              help="Write here (required for xlsx: the whole period's workbook).")
@click.option("--base-url", default="http://127.0.0.1:8000", show_default=True,
              help="xlsx: the server its numbers link to (the cases behind each).")
def stats_cmd(district_code: str, start: Any, end: Any, by: str, at: str | None, fmt: str,
              out: str | None, base_url: str) -> None:
    """Evaluation indicators per area, department, post or person, with score and grade."""
    from api.reports import sheets
    from api.reports.evaluation import build
    from api.tokens import patrols
    from cases.evaluation import INDICATORS, KIND, evaluate, period
    from cases.scoring import scheme_for, score_rows

    moment = _moment(at)
    with session() as s:
        if fmt == "xlsx":
            if not out:
                raise BadUsage("--format xlsx 生成工作簿，请用 --out 文件 指定写到哪里 "
                               "(--format xlsx writes a workbook: give --out FILE)")
            report = build(s, district_code, start.date(), end.date(), moment)
            Path(out).write_bytes(sheets.workbook(report, base_url))
            echo_err(f"wrote {out}: {len(report.sections)} sheets of {report.name} "
                     f"{report.month}")
            return
        p = period(s, district_code, start.date(), end.date(), moment,
                   patrols(s, district_code))
        rows = score_rows(evaluate(s, p, by), by, scheme_for(s, p.district))
    kind = KIND[by]
    indicators = INDICATORS[kind] if kind != "post" else list(
        {i.key: i for post in ("监督员", "受理员", "值班长", "派遣员")
         for i in INDICATORS[post]}.values())
    if fmt == "json":
        text = json.dumps({"district": p.district, "from": p.start.isoformat(),
                           "to": p.end.isoformat(), "at": p.at.isoformat(), "by": by,
                           "rows": rows}, ensure_ascii=False, indent=2) + "\n"
    elif fmt == "csv":
        text = sheets.rows_csv(rows, indicators, by)
    else:
        text = _table(rows, indicators, by)
    if out:
        Path(out).write_text(text, encoding="utf-8", newline="")
        echo_err(f"wrote {out}: {len(rows)} rows")
    else:
        sys.stdout.write(text.lstrip("\ufeff"))


def _moment(at: str | None) -> datetime | None:
    if not at:
        return None
    try:
        return datetime.fromisoformat(at)
    except ValueError:
        raise BadOption(f"--at：{at!r} 不是 ISO 8601 时间，例如 2026-11-30T12:00 "
                        f"(--at: {at!r} is not ISO 8601, e.g. 2026-11-30T12:00)",
                        param_hint="--at") from None


def _table(rows: list[dict[str, Any]], indicators: list[Any], by: str) -> str:
    """An aligned text table: one line per row, the indicators of its kind."""
    lines = []
    for r in rows:
        values = [f"{i.name} {_short(r.get(i.key), i.of is not None)}" for i in indicators
                  if i.key in r]
        head = f"{r.get('post', '')} {r['name']}".strip() if by in ("post", "person") \
            else str(r["name"])
        score = f"  得分 {r['score']:.2f} {r['grade']}" if "score" in r else ""
        lines.append(f"{head}：" + "，".join(values) + score)
    return "\n".join(lines) + "\n"


def _short(value: Any, rate: bool) -> str:
    if value is None:
        return "—"
    return f"{value * 100:.1f}%" if rate else str(value)


@cli.group()
def evaluation() -> None:
    """The city's 考核办法: weights, score formulas and grade bands per kind of row."""


@evaluation.command("import")
@click.argument("path", type=click.Path())
@click.option("--district", "district_code", help="One district's own (default: the city's).")
def evaluation_import(path: str, district_code: str | None) -> None:
    """Load a 考核办法 (TOML, as cases/data/evaluation.toml) in place of the one before."""
    from cases.scoring import import_scheme

    with acting("evaluation.import", district=district_code or "", subject=path) as (s, op):
        scheme = import_scheme(s, path, district_code)
        op.detail = {"name": scheme.name, "kinds": sorted(scheme.kinds)}
    echo_err(f"考核办法 loaded: {scheme.name} ({', '.join(sorted(scheme.kinds))})")
