"""`citygrid catalog`, `citygrid census convert`, `citygrid profiles`."""

from __future__ import annotations

import json
import sys

import click

from api.cli.base import (
    EXIT_QA,
    BadOption,
    acting,
    cli,
    echo_err,
    session,
    wait_option,
    waiting,
    write_report,
)


@cli.group()
def catalog() -> None:
    """The class catalog (部件 and 事件/事项 classes of both code generations)."""


@catalog.command("add")
@click.argument("path", type=click.Path())
@click.option("--official", is_flag=True,
              help="The file is the city's official copy of national classes: replace them.")
@click.option("--report", "report_path", metavar="FILE")
def catalog_add(path: str, official: bool, report_path: str | None) -> None:
    """Load local extension classes (CSV: scheme, kind, code, name, …)."""
    from census.catalog import add_catalog_file

    with acting("catalog.add", subject=path) as (s, op):
        report = add_catalog_file(s, path, official=official)
        op.detail = report.to_dict()
    write_report(report.to_dict(), report_path)
    for r in report.rejects[:20]:
        echo_err(f"  拒绝 {r.reason:14} {r.message}")
    echo_err(report.summary())


@catalog.command("list")
@click.option("--scheme", type=click.Choice(["legacy", "gb47678"]), default=None)
@click.option("--kind", type=click.Choice(["component", "event"]), default=None)
def catalog_list(scheme: str | None, kind: str | None) -> None:
    """List classes as CSV (code, kind, name, major, standard, national, provenance)."""
    import csv

    from census.catalog import all_classes

    with session() as s:
        rows = all_classes(s, scheme=scheme, kind=kind)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["scheme", "kind", "code", "name", "major_code", "major_name", "standard",
                     "national", "provenance"])
    for r in rows:
        writer.writerow([r["scheme"], r["kind"], r["code"], r["name"], r["major_code"],
                         r["major_name"], r["standard"], r["national"], r["provenance"]])


@cli.group()
def census() -> None:
    """The component census."""


@census.command("convert")
@click.option("--district", "district_code", required=True, help="6-digit district code.")
@click.option("--to", "target", default="gb47678", show_default=True,
              type=click.Choice(["gb47678"]))
@click.option("--map", "extra", multiple=True, metavar="OLD=NEW",
              help="Map a legacy class the shipped table does not (e.g. 0114=01023).")
@click.option("--dry-run", is_flag=True, help="Report; change nothing.")
@click.option("--report", "report_path", metavar="FILE")
@wait_option
def census_convert(district_code: str, target: str, extra: tuple[str, ...], dry_run: bool,
                   report_path: str | None, no_wait: bool) -> None:
    """Migrate a legacy census to GB/T 47678 class codes and 17-digit 标识码."""
    from census.convert import convert_census

    pairs: dict[str, str] = {}
    for item in extra:
        old, sep, new = item.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise BadOption(f"--map：{item!r} 不是“旧类别=新类别”的形式 "
                            f"(--map: {item!r} is not OLD=NEW)", param_hint="--map")
        pairs[old.strip()] = new.strip()
    with acting("census.convert", district=district_code, dry_run=dry_run,
                waiting=waiting(no_wait)) as (s, op):
        report = convert_census(s, district_code, to=target, extra=pairs, dry_run=dry_run)
        op.district, op.detail = report.district, report.to_dict()
        if report.status != "ok":
            op.refuse()
    write_report(report.to_dict(), report_path)
    echo_err(report.summary())
    if report.status != "ok":
        sys.exit(EXIT_QA)


@cli.command("profiles")
def profiles_cmd() -> None:
    """List saved field-mapping profiles as JSON."""
    from census.profiles import list_profiles

    with session() as s:
        click.echo(json.dumps(list_profiles(s), ensure_ascii=False, indent=2))


