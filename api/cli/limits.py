"""`citygrid manual import` (the handling manual) and `citygrid calendar add | status | duty`
(holidays, 调休 and the centre's duty hours)."""

from __future__ import annotations

import json

import click

from api.cli.base import acting, cli, echo_err, session


@cli.group()
def manual() -> None:
    """The handling manual (立案、处置和结案标准)."""


@manual.command("import")
@click.argument("path", type=click.Path())
@click.option("--district", "district_code", help="Overrides for this district only.")
def manual_import(path: str, district_code: str | None) -> None:
    """Load handling-manual rows (the city's, or one district's overrides)."""
    from cases.limits import import_manual

    with acting("manual.import", district=district_code or "", subject=path) as (s, op):
        report = import_manual(s, path, district_code)
        op.detail = report.to_dict()
    for r in report.rejects[:20]:
        echo_err(f"  拒绝 {r.message}")
    echo_err(report.summary())


@cli.group()
def calendar() -> None:
    """The working calendar (holidays and 调休 workdays)."""


@calendar.command("add")
@click.argument("path", type=click.Path())
@click.option("--year", type=click.IntRange(2000, 2100),
              help="The file is this year's whole schedule (the State Council's notice): "
                   "deadlines in that year become exact.")
def calendar_add(path: str, year: int | None) -> None:
    """Add calendar days (CSV: date, kind holiday|workday, name)."""
    from cases.limits import add_calendar

    with acting("calendar.add", subject=path) as (s, op):
        report = add_calendar(s, path, year)
        op.detail = report.to_dict()
    for r in report.rejects[:20]:
        echo_err(f"  拒绝 {r.message}")
    echo_err(report.summary() + (f"；{year} 年的节假日已齐全 ({year} is covered)" if year else
                                 "；已知节假日的范围未变，整年的放假安排请加 --year YYYY "
                                 "(coverage unchanged: give --year YYYY for a whole year's "
                                 "schedule)"))


@calendar.command("status")
def calendar_status_cmd() -> None:
    """The years whose holidays are loaded, until when deadlines are exact, the centre's duty
    hours (JSON); a warning on stderr when the calendar ends within 30 days."""
    from cases.limits import calendar_status

    with session() as s:
        status = calendar_status(s)
    click.echo(json.dumps(status, ensure_ascii=False, indent=2))
    if status["warning"]:
        echo_err(f"警告 (warning): {status['warning']}")


@calendar.command("duty")
@click.argument("hours")
def calendar_duty(hours: str) -> None:
    """The centre's duty hours, every day: 7x24, 08:00-20:00 or 08:00-12:00,14:00-22:00 (its
    steps — 受理, 核实, 立案, 派遣, 核查, 结案 — run on them)."""
    from cases.limits import set_duty

    with acting("calendar.duty", subject=hours) as (s, op):
        periods = set_duty(s, hours)
        op.detail = {"periods": [f"{a:%H:%M}-{b:%H:%M}" for a, b in periods]}
    echo_err(f"duty hours set: {hours}")
