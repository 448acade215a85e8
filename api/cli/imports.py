"""`citygrid import grids | streets | communities | components` and `citygrid export`."""

from __future__ import annotations

import sys

import click

from api.cli.base import (
    EXIT_QA,
    Progress,
    acting,
    cli,
    echo_err,
    echo_findings,
    make_qa_options,
    qa_options,
    read_options,
    session,
    wait_option,
    waiting,
    write_report,
)
from gis.fields import parse_overrides


@cli.group("import")
def import_() -> None:
    """Import grid, boundary and census files."""


@import_.command("grids")
@click.argument("path", type=click.Path())
@read_options
@qa_options
@click.option("--dry-run", is_flag=True, help="Check and report; write nothing.")
@click.option("--report", "report_path", metavar="FILE", help="Write the JSON report here "
                                                                "('-' for stdout).")
@wait_option
def import_grids_cmd(path: str, district_code: str, crs: str | None, encoding: str | None,
                     fields: tuple[str, ...], tolerance: float | None, area_band: str | None,
                     accept: tuple[str, ...], dry_run: bool, report_path: str | None,
                     no_wait: bool) -> None:
    """Import a district's unit grids (QA first: error-level findings refuse the file)."""
    from grid.importer import GridImportOptions, import_grids

    options = GridImportOptions(crs=crs, encoding=encoding, fields=parse_overrides(fields),
                                dry_run=dry_run,
                                qa=make_qa_options(tolerance, area_band, accept))
    with acting("import.grids", district=district_code, subject=path, dry_run=dry_run,
                waiting=waiting(no_wait)) as (s, op):
        report, qa = import_grids(s, path, district_code, options)
        op.district, op.detail = report.district, report.to_dict()
        if report.status != "ok":
            op.refuse()
    data = report.to_dict()
    data["qa"] = qa.to_dict()
    write_report(data, report_path)
    echo_findings(qa)
    echo_err(qa.summary())
    echo_err(report.summary())
    if report.status == "refused":
        sys.exit(EXIT_QA)


@import_.command("streets")
@click.argument("path", type=click.Path())
@read_options
@click.option("--dry-run", is_flag=True, help="Check and report; write nothing.")
@click.option("--report", "report_path", metavar="FILE")
@wait_option
def import_streets_cmd(path: str, district_code: str, crs: str | None, encoding: str | None,
                       fields: tuple[str, ...], dry_run: bool, report_path: str | None,
                       no_wait: bool) -> None:
    """Import street (街道/乡镇) boundaries, with their 类型 and 属地责任单位 if given."""
    _import_boundaries("street", path, district_code, crs, encoding, fields, dry_run,
                       report_path, no_wait)


@import_.command("communities")
@click.argument("path", type=click.Path())
@read_options
@click.option("--dry-run", is_flag=True, help="Check and report; write nothing.")
@click.option("--report", "report_path", metavar="FILE")
@wait_option
def import_communities_cmd(path: str, district_code: str, crs: str | None,
                           encoding: str | None, fields: tuple[str, ...], dry_run: bool,
                           report_path: str | None, no_wait: bool) -> None:
    """Import community (社区/村) boundaries."""
    _import_boundaries("community", path, district_code, crs, encoding, fields, dry_run,
                       report_path, no_wait)


def _import_boundaries(level: str, path: str, district_code: str, crs: str | None,
                       encoding: str | None, fields: tuple[str, ...], dry_run: bool,
                       report_path: str | None, no_wait: bool) -> None:
    from grid.hierarchy import import_boundaries

    with acting(f"import.{level}", district=district_code, subject=path, dry_run=dry_run,
                waiting=waiting(no_wait)) as (s, op):
        report = import_boundaries(s, path, district_code, level, crs=crs, encoding=encoding,
                                   fields=parse_overrides(fields), dry_run=dry_run)
        op.district, op.detail = report.district, report.to_dict()
    write_report(report.to_dict(), report_path)
    for r in report.rejects[:20]:
        echo_err(f"  拒绝 {r.reason:16} {r.message}")
    if report.extra.get("kinds_not_understood"):
        echo_err("  类型不是街道、镇或乡，未记录 (not 街道, 镇 or 乡, not stored): "
                 + "、".join(report.extra["kinds_not_understood"]))
    echo_err(report.summary())



@import_.command("components")
@click.argument("path", type=click.Path())
@read_options
@click.option("--profile", help="Use a saved field mapping (then --field on top).")
@click.option("--save-profile", metavar="NAME",
              help="Save the mapping used, for the next county.")
@click.option("--retire-missing", is_flag=True,
              help="Mark components the file does not list as retired (注销), with the date.")
@click.option("--dry-run", is_flag=True,
              help="Show the mapping and the full report; write nothing.")
@click.option("--report", "report_path", metavar="FILE", help="Write the JSON report here "
                                                                "('-' for stdout).")
@wait_option
def import_components_cmd(path: str, district_code: str, crs: str | None, encoding: str | None,
                          fields: tuple[str, ...], profile: str | None,
                          save_profile: str | None, retire_missing: bool, dry_run: bool,
                          report_path: str | None, no_wait: bool) -> None:
    """Import a component census file (管理部件普查)."""
    from concurrent.futures import ThreadPoolExecutor

    from gis.vector import read_vector

    overrides = parse_overrides(fields)
    progress = Progress()
    # The file is read on a thread of its own from here, while the rest of the import's modules
    # are imported and the database connected (bench/census_import.py, the whole process).
    with ThreadPoolExecutor(max_workers=1) as pool:
        reading = pool.submit(read_vector, path, crs=crs, encoding=encoding)
        from census.importer import ComponentImportOptions, import_components

        options = ComponentImportOptions(crs=crs, encoding=encoding, fields=overrides,
                                         profile=profile, save_profile=save_profile,
                                         dry_run=dry_run, retire_missing=retire_missing)
        try:
            with acting("import.components", district=district_code, subject=path,
                        dry_run=dry_run, waiting=waiting(no_wait)) as (s, op):
                report = import_components(s, path, district_code, options, progress, reading)
                op.district, op.detail = report.district, report.to_dict()
        finally:
            progress.close()
    write_report(report.to_dict(), report_path)
    if dry_run:
        for target, source in report.mapping.items():
            echo_err(f"  {target:16} ← {source or '(none)'}")
    for r in sorted(report.rejects, key=lambda r: r.row)[:20]:
        echo_err(f"  拒绝 {r.reason:16} {r.message}")
    if report.rejected > 20:
        echo_err(f"  …另有 {report.rejected - 20} 行被拒绝，见 --report "
                 f"(… and {report.rejected - 20} more rejected rows)")
    if report.extra.get("grid_mismatches"):
        echo_err(f"  {report.extra['grid_mismatches']} 行所填网格与其所在网格不同，已按空间位置"
                 "取网格，见 --report (rows name another grid than the one they lie in; the "
                 "spatial grid is kept)")
    if "retired" in report.extra:
        echo_err(f"  文件中没有的 {report.extra['retired']} 个部件已注销 "
                 f"({report.extra['retired']} components absent from the file were retired)")
    echo_err(report.summary())


@cli.group()
def export() -> None:
    """Export data for GDAL/QGIS or another import."""


@export.command("components")
@click.argument("outfile", type=click.Path())
@click.option("--district", "district_code", required=True, help="6-digit district code.")
@click.option("--crs", help="CRS of the output (default EPSG:4490), e.g. EPSG:4549.")
def export_components_cmd(outfile: str, district_code: str, crs: str | None) -> None:
    """Export the live census: .shp (GBK, standard field names), .gpkg or .geojson."""
    from census.export import export_components

    with session() as s:
        report = export_components(s, district_code, outfile, crs=crs)
    if report.skipped_fields:
        echo_err(f"  字段名超出 DBF 长度限制，未导出：{'、'.join(report.skipped_fields)}；"
                 "导出为 .gpkg 可保留 (fields with names too long for a DBF left out; "
                 "export .gpkg to keep them)")
    echo_err(report.summary())


