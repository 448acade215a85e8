"""`citygrid case report | show | list | act`, `citygrid stats`, `citygrid manual import`,
`citygrid calendar add`."""

from __future__ import annotations

import json
from typing import Any

import click

from api.cli.base import acting, cli, context, echo_err, session


@cli.group()
def case() -> None:
    """Cases (案件): report, show, list, act."""


@case.command("report")
@click.argument("lon", type=float)
@click.argument("lat", type=float)
@click.option("--class", "class_code", required=True, help="Component or event class code.")
@click.option("--desc", "description", required=True, help="What is wrong.")
@click.option("--kind", type=click.Choice(["component", "event"]))
@click.option("--crs", help="EPSG:4490 (default), EPSG:4326, EPSG:xxxx, gcj02 or bd09.")
@click.option("--source", default="监督员上报", show_default=True,
              help="监督员上报, 12345热线, 公众 or 视频.")
@click.option("--address")
@click.option("--actor", help="Who reports (default: the source).")
@click.option("--post", help="The reporter's post (default: the source's: 监督员 for 监督员上报, "
                             "受理员 for 12345热线 and 视频).")
@click.option("--condition", type=click.IntRange(1, 32767),
              help="Filing condition (立案条件) number.")
def case_report(lon: float, lat: float, class_code: str, description: str, kind: str | None,
                crs: str | None, source: str, address: str | None, actor: str | None,
                post: str | None, condition: int | None) -> None:
    """Report a case at a point; prints the case (with duplicates) as JSON."""
    from cases.intake import Report, report_case
    from cases.store import get_case
    from gis.points import to_storage
    from lookup.service import open_resolver

    x, y = to_storage(lon, lat, crs)
    resolver = open_resolver(context().engine(), context().settings,
                             near=(float(x[0]), float(y[0])))
    with acting("case.report") as (s, op):
        number, dups = report_case(s, resolver, Report(
            lon=float(x[0]), lat=float(y[0]), class_code=class_code, kind=kind,
            description=description, source=source, address=address, person=actor,
            post=post, condition_no=condition))
        s.flush()
        out = {**get_case(s, number), "duplicates": dups}
        op.district, op.subject = out["district"], number
        op.detail = {"post": post, "person": actor}
    click.echo(json.dumps(out, ensure_ascii=False, indent=2))
    echo_err(f"case {number} reported; responsible: {out['department']}"
              + (f"; {len(dups)} possible duplicate(s)" if dups else ""))


@case.command("show")
@click.argument("number")
def case_show(number: str) -> None:
    """A case with its history, as JSON."""
    from cases.store import get_case

    with session() as s:
        click.echo(json.dumps(get_case(s, number), ensure_ascii=False, indent=2))


@case.command("list")
@click.option("--district", "district_code")
@click.option("--state", help="One or more states, comma separated.")
@click.option("--overdue", is_flag=True, help="Only cases past their current deadline.")
@click.option("--due-within", help="Only open cases due this soon (30m, 2h, 1d).")
@click.option("--limit", type=int, default=100, show_default=True)
def case_list(district_code: str | None, state: str | None, overdue: bool,
              due_within: str | None, limit: int) -> None:
    """Cases, newest first, one line each."""
    from cases.store import parse_span
    from cases.store import list_cases

    with session() as s:
        items, total = list_cases(s, district=district_code, state=state, overdue=overdue,
                                  due_within=parse_span(due_within) if due_within else None,
                                  limit=limit)
    for c in items:
        flag = " 超期" if c["overdue"] else ""
        click.echo(f"{c['number']}  {c['state_name']:4}  {c['class']['name']}  "
                   f"{c['department'] or ''}  due {c['due_at'] or '-'}{flag}")
    echo_err(f"{len(items)} of {total} cases")


@case.command("act")
@click.argument("number")
@click.argument("action", type=click.Choice(["file", "reject", "dispatch", "handle", "verify",
                                             "rework", "return", "extend"]))
@click.option("--post", "--role", "post", required=True,
              help="The post acting: 监督员, 受理员, 值班长, 派遣员 or 专业部门.")
@click.option("--actor", required=True, help="The person acting.")
@click.option("--note")
@click.option("--department", help="dispatch: to whom; return: who instead.")
@click.option("--extend-by", help="extend: e.g. '2 working_days' or '4工作时'.")
@click.option("--condition", type=click.IntRange(1, 32767))
def case_act(number: str, action: str, post: str, actor: str, note: str | None,
             department: str | None, extend_by: str | None, condition: int | None) -> None:
    """Move a case along its workflow as a post and person (exit 2 when not allowed)."""
    from cases.workflow import Actor, apply

    with acting(f"case.{action}", subject=number) as (s, op):
        done = apply(s, number, action, Actor(post, actor), note=note,
                     department=department, extend_by=extend_by, condition_no=condition)
        op.district, op.detail = done["district"], {"post": post, "person": actor}
    echo_err(f"case {number}: {done['from']} → {done['to']}")


@cli.command("stats")
@click.option("--district", "district_code", required=True)
@click.option("--from", "start", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--to", "end", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--by", type=click.Choice(["district", "department", "grid", "street"]),
              default="district", show_default=True)
def stats_cmd(district_code: str, start: Any, end: Any, by: str) -> None:
    """Evaluation indicators (CJ/T 292 subset) as JSON."""
    from cases.stats import stats

    with session() as s:
        data = stats(s, district_code, start.date(), end.date(), by)
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


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
        echo_err(f"  rejected {r.message}")
    echo_err(report.summary())


@cli.group()
def calendar() -> None:
    """The working calendar (holidays and 调休 workdays)."""


@calendar.command("add")
@click.argument("path", type=click.Path())
def calendar_add(path: str) -> None:
    """Add calendar days (CSV: date, kind holiday|workday, name)."""
    from cases.limits import add_calendar

    with acting("calendar.add", subject=path) as (s, op):
        report = add_calendar(s, path)
        op.detail = report.to_dict()
    for r in report.rejects[:20]:
        echo_err(f"  rejected {r.message}")
    echo_err(report.summary())


