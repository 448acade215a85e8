"""`citygrid case report | show | list | act | import-history`: cases from the command line,
the local administrator naming the post and person of each step."""

from __future__ import annotations

import json

import click

from api.cli.base import acting, cli, context, echo_err, session, write_report
from cases.flow import ACTIONS


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
@click.option("--self-handled", is_flag=True,
              help="自行处置: a 监督员 fixed it on the spot (the case is closed at once).")
def case_report(lon: float, lat: float, class_code: str, description: str, kind: str | None,
                crs: str | None, source: str, address: str | None, actor: str | None,
                post: str | None, condition: int | None, self_handled: bool) -> None:
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
            post=post, condition_no=condition, self_handled=self_handled))
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
    from cases.store import list_cases, parse_span

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
@click.argument("action", type=click.Choice(list(ACTIONS)))
@click.option("--post", "--role", "post", required=True,
              help="The post acting: 监督员, 受理员, 值班长, 派遣员 or 专业部门.")
@click.option("--actor", required=True, help="The person acting.")
@click.option("--department", help="dispatch: to whom; request_return: who instead; for a "
                                   "专业部门, its own department (default: the case's).")
@click.option("--note")
@click.option("--reason", help="request_extend, request_return, request_suspend: why.")
@click.option("--extend-by", help="request_extend: e.g. '2 working_days' or '4工作时'.")
@click.option("--satisfaction", type=click.Choice(["满意", "基本满意", "不满意"]),
              help="callback: the reporter's satisfaction.")
@click.option("--condition", type=click.IntRange(1, 32767), help="file: the 立案条件.")
def case_act(number: str, action: str, post: str, actor: str, department: str | None,
             note: str | None, reason: str | None, extend_by: str | None,
             satisfaction: str | None, condition: int | None) -> None:
    """Take one step of the workflow as a post and person (the local administrator names
    them): exit 2 when it is not allowed."""
    from cases.workflow import Actor, apply

    with acting(f"case.{action}", subject=number) as (s, op):
        done = apply(s, number, action, Actor(post, actor), note=note, department=department,
                     extend_by=extend_by, reason=reason, satisfaction=satisfaction,
                     condition_no=condition)
        op.district, op.detail = done["district"], {"post": post, "person": actor, **done}
    due = f"; due {done['due_at']}" if done.get("due_at") else ""
    echo_err(f"case {number}: {done['from']} → {done['to']}{due}")
    if done.get("provisional"):
        echo_err("  警告：期限超出工作日历已知的节假日范围，为临时期限；"
                 "见 citygrid calendar status (warning: the deadline lies beyond the "
                 "calendar's known holidays: provisional)")


@case.command("import-history")
@click.argument("path", type=click.Path())
@click.option("--district", "district_code", required=True, help="6-digit district code.")
@click.option("--report", "report_path", metavar="FILE", help="Write the JSON report here "
                                                                "('-' for stdout).")
def case_import_history(path: str, district_code: str, report_path: str | None) -> None:
    """Replay an old system's cases (CSV, one row per action) under today's rules."""
    from cases.history import import_history

    with acting("case.import_history", subject=path) as (s, op):
        report = import_history(s, path, district_code, context().settings)
        op.district, op.detail = report.district, report.to_dict()
    write_report(report.to_dict(), report_path)
    for r in report.rejects[:20]:
        echo_err(f"  拒绝 {r.reason:16} {r.message}")
    echo_err(report.summary())
