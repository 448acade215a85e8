"""`citygrid qa grids`: topology QA of a grid file before import, or of the stored grids."""

from __future__ import annotations

import sys

import click

from api.cli.base import (
    EXIT_QA,
    BadUsage,
    cli,
    echo_err,
    echo_findings,
    make_qa_options,
    qa_options,
    read_options,
    session,
    write_report,
)
from gis.fields import parse_overrides


@cli.group()
def qa() -> None:
    """Quality checks."""


@qa.command("grids")
@click.argument("path", type=click.Path(), required=False)
@read_options
@qa_options
@click.option("--report", "report_path", metavar="FILE", help="Write the JSON report here "
                                                                "('-' for stdout).")
def qa_grids_cmd(path: str | None, district_code: str, crs: str | None, encoding: str | None,
                 fields: tuple[str, ...], tolerance: float | None, area_band: str | None,
                 accept: tuple[str, ...], report_path: str | None) -> None:
    """Check a grid file before import (PATH), or the district's stored grids."""
    from grid.inspect import qa_path, qa_stored

    options = make_qa_options(tolerance, area_band, accept)
    with session() as s:
        if path:
            report = qa_path(s, district_code, path, crs=crs, encoding=encoding,
                             fields=parse_overrides(fields), options=options)
        else:
            if crs or encoding or fields:
                raise BadUsage("--crs、--encoding 和 --field 只用于文件，请给出 PATH "
                               "(--crs, --encoding and --field apply to a file; give PATH)")
            report = qa_stored(s, district_code, options)
        s.rollback()
    write_report(report.to_dict(), report_path)
    echo_findings(report)
    echo_err(report.summary())
    if report.errors:
        sys.exit(EXIT_QA)


