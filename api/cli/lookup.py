"""`citygrid lookup` and `citygrid rules import` (权责清单 and responsibility zones)."""

from __future__ import annotations

import json

import click

from api.cli.base import (
    acting,
    cli,
    context,
    echo_err,
    read_options,
    wait_option,
    waiting,
    write_report,
)
from gis.fields import parse_overrides


@cli.command()
@click.argument("lon", type=float)
@click.argument("lat", type=float)
@click.option("--crs", help="EPSG:4490 (default), EPSG:4326, any EPSG code, gcj02 or bd09.")
@click.option("--class", "class_code", help="Component or event class code.")
@click.option("--kind", type=click.Choice(["component", "event"]),
              help="Settles a legacy code that is both (default: component).")
def lookup(lon: float, lat: float, crs: str | None, class_code: str | None,
           kind: str | None) -> None:
    """Who is responsible for a point: prints the lookup JSON (exit 3 outside every grid)."""
    from gis.points import to_storage
    from lookup.service import open_resolver

    ctx = context()
    x, y = to_storage(lon, lat, crs)
    resolver = open_resolver(ctx.engine(), ctx.settings, near=(float(x[0]), float(y[0])))
    answer = resolver.resolve(float(x[0]), float(y[0]), class_code, kind).to_dict()
    click.echo(json.dumps(answer, ensure_ascii=False, indent=2))


@cli.group()
def rules() -> None:
    """Responsibility rules: the 权责清单 (CSV) and responsibility zones (vector files)."""


@rules.command("import")
@click.argument("path", type=click.Path())
@read_options
@click.option("--dry-run", is_flag=True, help="Check and report; write nothing.")
@click.option("--report", "report_path", metavar="FILE")
@wait_option
def rules_import(path: str, district_code: str, crs: str | None, encoding: str | None,
                 fields: tuple[str, ...], dry_run: bool, report_path: str | None,
                 no_wait: bool) -> None:
    """Import a responsibility list (.csv: class → department) or zones (.shp/.gpkg/…)."""
    from lookup.rules import import_rules

    with acting("rules.import", district=district_code, subject=path, dry_run=dry_run,
                waiting=waiting(no_wait)) as (s, op):
        report = import_rules(s, path, district_code, fields=parse_overrides(fields), crs=crs,
                              encoding=encoding, dry_run=dry_run)
        op.district, op.detail = report.district, report.to_dict()
    write_report(report.to_dict(), report_path)
    for r in report.rejects[:20]:
        echo_err(f"  拒绝 {r.reason:18} {r.message}")
    if report.extra.get("retired"):
        echo_err(f"  文件中已没有的 {report.extra['retired']} 条规则已停用 "
                 f"({report.extra['retired']} rules no longer in the file were retired)")
    echo_err(report.summary())


