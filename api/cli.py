"""The `citygrid` command. Each command parses its input, calls one domain function and renders
the result; errors become one line on stderr and a non-zero exit status, never a traceback.

Exit status: 0 success; 1 QA found error-level problems (import refused); 2 bad input;
3 point outside coverage; 4 database unavailable; 70 internal error.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import OperationalError

from api.context import Context
from api.settings import Settings
from gis.db import redact, session_scope
from gis.errors import CitygridError
from gis.fields import parse_overrides

EXIT_QA = 1


def _ctx() -> Context:
    obj = click.get_current_context().find_root().obj
    assert isinstance(obj, Context)
    return obj


def _write_report(data: dict[str, Any], target: str | None) -> None:
    if not target:
        return
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n"
    if target == "-":
        click.echo(text, nl=False)
    else:
        Path(target).write_text(text, encoding="utf-8")


def _echo_err(text: str) -> None:
    click.echo(text, err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="citygrid")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """citygrid: unit grids, the component census and responsibility for 数字城管."""
    ctx.obj = Context(Settings())


# -- database --------------------------------------------------------------------------------


@cli.group()
def db() -> None:
    """The database: citygrid's own PostgreSQL cluster, or DATABASE_URL."""


@db.command("up")
def db_up() -> None:
    """Start the database (when it is citygrid's own), create PostGIS, migrate."""
    url, postgis = _ctx().bring_up()
    _echo_err(f"database ready: {redact(url)} (PostGIS {postgis}, schema at head)")


@db.command("url")
def db_url() -> None:
    """Print the libpq URL of the database."""
    from gis.db import resolve_url

    click.echo(resolve_url(_ctx().settings, start=False))


@db.command("down")
def db_down() -> None:
    """Stop citygrid's own cluster (a DATABASE_URL server is left alone)."""
    ctx = _ctx()
    if not ctx.local:
        _echo_err("DATABASE_URL is set: that server is not citygrid's to stop")
        return
    from gis.cluster import LocalCluster

    stopped = LocalCluster(ctx.settings.home, ctx.settings.pg_port).down()
    _echo_err("database stopped" if stopped else "database was not running")


# -- districts -------------------------------------------------------------------------------


@cli.group()
def district() -> None:
    """Districts (county-level units): the tenants of all data."""


@district.command("add")
@click.argument("code")
@click.option("--name", help="Name, e.g. 宣州区 (required for a new district).")
@click.option("--scheme", type=click.Choice(["legacy", "gb47678"]),
              help="Code scheme: legacy (CJ/T 213/214) or gb47678 (GB/T 47678).")
@click.option("--grid-digits", type=click.Choice(["14", "15"]),
              help="Length of grid codes (default: 14 legacy, 15 gb47678).")
@click.option("--crs", help="Projected CRS in metres for areas and tolerances, e.g. EPSG:4549.")
@click.option("--public-listing/--no-public-listing", default=None,
              help="List the district's cases through Open311 to callers without a token "
                   "(public fields only; off by default).")
def district_add(code: str, name: str | None, scheme: str | None, grid_digits: str | None,
                 crs: str | None, public_listing: bool | None) -> None:
    """Register a district, or update it."""
    from grid.districts import add_district

    with session_scope(_ctx().engine()) as s:
        d, created = add_district(s, code, name=name, scheme=scheme,
                                  grid_digits=int(grid_digits) if grid_digits else None, crs=crs,
                                  public_listing=public_listing)
        from census.partitions import ensure_partition

        ensure_partition(s, d.code)
    _echo_err(f"district {d.code} {d.name} {'added' if created else 'updated'}: scheme "
              f"{d.scheme.value}, {d.grid_digits}-character grid codes, CRS {d.crs or 'not set'}"
              + ("; cases listed publicly through Open311" if d.public_listing else ""))


@district.command("list")
def district_list() -> None:
    """List districts as JSON."""
    from grid.districts import list_districts
    from grid.store import grid_count

    with session_scope(_ctx().engine()) as s:
        rows = [{**d.to_dict(), "grids": grid_count(s, d.code)} for d in list_districts(s)]
    click.echo(json.dumps(rows, ensure_ascii=False, indent=2))


@district.command("show")
@click.argument("code")
def district_show(code: str) -> None:
    """A district with its streets, communities and grid counts, as JSON."""
    from grid.districts import get_district
    from grid.store import hierarchy

    with session_scope(_ctx().engine()) as s:
        d = get_district(s, code)
        data = {**d.to_dict(), "streets": hierarchy(s, d.code)}
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


# -- imports ---------------------------------------------------------------------------------


def _read_options(f: Any) -> Any:
    f = click.option("--field", "fields", multiple=True, metavar="TARGET=SOURCE",
                     help="Map a target attribute to a field of the file (repeatable).")(f)
    f = click.option("--encoding", help="Text encoding of a shapefile without .cpg, e.g. GBK.")(f)
    f = click.option("--crs", help="CRS of the coordinates when the file has none or a wrong "
                                   "one, e.g. EPSG:4549.")(f)
    f = click.option("--district", "district_code", required=True, help="6-digit district code.")(f)
    return f


def _qa_options(f: Any) -> Any:
    f = click.option("--tolerance", type=float, default=None,
                     help="Overlaps and gaps thinner than this many metres are ignored "
                          "(default 0.05).")(f)
    f = click.option("--area-band", default=None, metavar="MIN,MAX",
                     help="Grid areas outside this band in m² are warnings "
                          "(default 2000,50000).")(f)
    f = click.option("--accept", multiple=True, metavar="KIND",
                     help="Report findings of this kind as warnings (overlap, gap, nesting, …).")(f)
    return f


def _make_qa_options(tolerance: float | None, area_band: str | None,
                     accept: tuple[str, ...]) -> Any:
    from grid.qa import SEVERITY, QaOptions

    kwargs: dict[str, Any] = {}
    if tolerance is not None:
        if not tolerance >= 0:
            raise click.BadParameter(f"{tolerance} is negative", param_hint="--tolerance")
        kwargs["tolerance_m"] = tolerance
    if area_band:
        try:
            lo, hi = (float(v) for v in area_band.split(","))
        except ValueError:
            raise click.BadParameter(f"{area_band!r} is not MIN,MAX in m²",
                                     param_hint="--area-band") from None
        if not 0 <= lo < hi:
            raise click.BadParameter(f"{area_band!r}: need 0 <= MIN < MAX",
                                     param_hint="--area-band")
        kwargs["area_band_m2"] = (lo, hi)
    unknown = sorted(set(accept) - set(SEVERITY))
    if unknown:
        raise click.BadParameter(f"unknown kind {unknown[0]!r} (kinds: {', '.join(SEVERITY)})",
                                 param_hint="--accept")
    return QaOptions(accept=frozenset(accept), **kwargs)


def _echo_findings(qa: Any, limit: int = 20) -> None:
    shown = qa.errors[:limit] + qa.warnings[: max(0, limit - len(qa.errors))]
    for f in shown:
        area = f" {f.area_m2:,.2f} m²" if f.area_m2 is not None else ""
        where = f" at {f.where[0]:.6f},{f.where[1]:.6f}" if f.where else ""
        _echo_err(f"  {f.severity:7} {f.kind:16} {f.message}{area if 'm²' not in f.message else ''}"
                  f"{where}")
    rest = len(qa.findings) - len(shown)
    if rest > 0:
        _echo_err(f"  … and {rest} more (see --report)")


@cli.group("import")
def import_() -> None:
    """Import grid, boundary and census files."""


@import_.command("grids")
@click.argument("path", type=click.Path())
@_read_options
@_qa_options
@click.option("--dry-run", is_flag=True, help="Check and report; write nothing.")
@click.option("--report", "report_path", metavar="FILE", help="Write the JSON report here "
                                                                "('-' for stdout).")
def import_grids_cmd(path: str, district_code: str, crs: str | None, encoding: str | None,
                     fields: tuple[str, ...], tolerance: float | None, area_band: str | None,
                     accept: tuple[str, ...], dry_run: bool, report_path: str | None) -> None:
    """Import a district's unit grids (QA first: error-level findings refuse the file)."""
    from grid.importer import GridImportOptions, import_grids

    options = GridImportOptions(crs=crs, encoding=encoding, fields=parse_overrides(fields),
                                dry_run=dry_run,
                                qa=_make_qa_options(tolerance, area_band, accept))
    with session_scope(_ctx().engine()) as s:
        report, qa = import_grids(s, path, district_code, options)
        if report.status != "ok" or dry_run:
            s.rollback()
        else:
            _audit(s, report.district, "import.grids", path, report.to_dict())
    data = report.to_dict()
    data["qa"] = qa.to_dict()
    _write_report(data, report_path)
    _echo_findings(qa)
    _echo_err(qa.summary())
    _echo_err(report.summary())
    if report.status == "refused":
        sys.exit(EXIT_QA)


@import_.command("streets")
@click.argument("path", type=click.Path())
@_read_options
@click.option("--dry-run", is_flag=True, help="Check and report; write nothing.")
@click.option("--report", "report_path", metavar="FILE")
def import_streets_cmd(path: str, district_code: str, crs: str | None, encoding: str | None,
                       fields: tuple[str, ...], dry_run: bool, report_path: str | None) -> None:
    """Import street (街道/乡镇) boundaries."""
    _import_boundaries("street", path, district_code, crs, encoding, fields, dry_run,
                       report_path)


@import_.command("communities")
@click.argument("path", type=click.Path())
@_read_options
@click.option("--dry-run", is_flag=True, help="Check and report; write nothing.")
@click.option("--report", "report_path", metavar="FILE")
def import_communities_cmd(path: str, district_code: str, crs: str | None,
                           encoding: str | None, fields: tuple[str, ...], dry_run: bool,
                           report_path: str | None) -> None:
    """Import community (社区/村) boundaries."""
    _import_boundaries("community", path, district_code, crs, encoding, fields, dry_run,
                       report_path)


def _import_boundaries(level: str, path: str, district_code: str, crs: str | None,
                       encoding: str | None, fields: tuple[str, ...], dry_run: bool,
                       report_path: str | None) -> None:
    from grid.hierarchy import import_boundaries

    with session_scope(_ctx().engine()) as s:
        report = import_boundaries(s, path, district_code, level, crs=crs, encoding=encoding,
                                   fields=parse_overrides(fields), dry_run=dry_run)
        if dry_run:
            s.rollback()
        else:
            _audit(s, report.district, f"import.{level}", path, report.to_dict())
    _write_report(report.to_dict(), report_path)
    for r in report.rejects[:20]:
        _echo_err(f"  rejected row {r.row} ({r.reason}): {r.message}")
    _echo_err(report.summary())


class _Progress:
    """A one-line progress display on stderr, only when stderr is a terminal."""

    def __init__(self) -> None:
        self.live = sys.stderr.isatty()
        self.last = ""

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.live:
            return
        pct = f" {100 * done // total:3d}%" if total and stage in {"copying"} else ""
        line = f"  {stage}…{pct}"
        if line != self.last:
            sys.stderr.write("\r\033[K" + line)
            sys.stderr.flush()
            self.last = line

    def close(self) -> None:
        if self.live and self.last:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


@import_.command("components")
@click.argument("path", type=click.Path())
@_read_options
@click.option("--profile", help="Use a saved field mapping (then --field on top).")
@click.option("--save-profile", metavar="NAME",
              help="Save the mapping used, for the next county.")
@click.option("--retire-missing", is_flag=True,
              help="Mark components the file does not list as retired (注销), with the date.")
@click.option("--dry-run", is_flag=True,
              help="Show the mapping and the full report; write nothing.")
@click.option("--report", "report_path", metavar="FILE", help="Write the JSON report here "
                                                                "('-' for stdout).")
def import_components_cmd(path: str, district_code: str, crs: str | None, encoding: str | None,
                          fields: tuple[str, ...], profile: str | None,
                          save_profile: str | None, retire_missing: bool, dry_run: bool,
                          report_path: str | None) -> None:
    """Import a component census file (管理部件普查)."""
    from census.importer import ComponentImportOptions, import_components

    options = ComponentImportOptions(crs=crs, encoding=encoding, fields=parse_overrides(fields),
                                     profile=profile, save_profile=save_profile,
                                     dry_run=dry_run, retire_missing=retire_missing)
    progress = _Progress()
    try:
        with session_scope(_ctx().engine()) as s:
            report = import_components(s, path, district_code, options, progress)
            if dry_run:
                s.rollback()
            else:
                _audit(s, report.district, "import.components", path, report.to_dict())
    finally:
        progress.close()
    _write_report(report.to_dict(), report_path)
    if dry_run:
        for target, source in report.mapping.items():
            _echo_err(f"  {target:16} ← {source or '(none)'}")
    for r in sorted(report.rejects, key=lambda r: r.row)[:20]:
        _echo_err(f"  rejected {r.reason:16} {r.message}")
    if report.rejected > 20:
        _echo_err(f"  … and {report.rejected - 20} more rejected rows (see --report)")
    if report.extra.get("grid_mismatches"):
        _echo_err(f"  {report.extra['grid_mismatches']} rows name another grid than the one they "
                  "lie in (the spatial grid is kept; see --report)")
    if "retired" in report.extra:
        _echo_err(f"  {report.extra['retired']} components absent from the file were retired "
                  "(注销)")
    _echo_err(report.summary())


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

    with session_scope(_ctx().engine()) as s:
        report = export_components(s, district_code, outfile, crs=crs)
    if report.skipped_fields:
        _echo_err(f"  fields with names too long for a DBF left out: "
                  f"{', '.join(report.skipped_fields)} (export .gpkg to keep them)")
    _echo_err(report.summary())


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

    with session_scope(_ctx().engine()) as s:
        report = add_catalog_file(s, path, official=official)
        _audit(s, "", "catalog.add", path, report.to_dict())
    _write_report(report.to_dict(), report_path)
    for r in report.rejects[:20]:
        _echo_err(f"  rejected {r.reason:14} {r.message}")
    _echo_err(report.summary())


@catalog.command("list")
@click.option("--scheme", type=click.Choice(["legacy", "gb47678"]), default=None)
@click.option("--kind", type=click.Choice(["component", "event"]), default=None)
def catalog_list(scheme: str | None, kind: str | None) -> None:
    """List classes as CSV (code, kind, name, major, standard, national, provenance)."""
    import csv

    from census.catalog import all_classes

    with session_scope(_ctx().engine()) as s:
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
def census_convert(district_code: str, target: str, extra: tuple[str, ...], dry_run: bool,
                   report_path: str | None) -> None:
    """Migrate a legacy census to GB/T 47678 class codes and 17-digit 标识码."""
    from census.convert import convert_census

    pairs: dict[str, str] = {}
    for item in extra:
        old, sep, new = item.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise click.BadParameter(f"{item!r} is not OLD=NEW", param_hint="--map")
        pairs[old.strip()] = new.strip()
    with session_scope(_ctx().engine()) as s:
        report = convert_census(s, district_code, to=target, extra=pairs, dry_run=dry_run)
        if dry_run or report.status != "ok":
            s.rollback()
        else:
            _audit(s, report.district, "census.convert", None, report.to_dict())
    _write_report(report.to_dict(), report_path)
    _echo_err(report.summary())
    if report.status != "ok":
        sys.exit(EXIT_QA)


@cli.command("profiles")
def profiles_cmd() -> None:
    """List saved field-mapping profiles as JSON."""
    from census.profiles import list_profiles

    with session_scope(_ctx().engine()) as s:
        click.echo(json.dumps(list_profiles(s), ensure_ascii=False, indent=2))


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

    ctx = _ctx()
    x, y = to_storage(lon, lat, crs)
    resolver = open_resolver(ctx.engine(), ctx.settings, near=(float(x[0]), float(y[0])))
    answer = resolver.resolve(float(x[0]), float(y[0]), class_code, kind).to_dict()
    click.echo(json.dumps(answer, ensure_ascii=False, indent=2))


@cli.group()
def rules() -> None:
    """Responsibility rules: the 权责清单 (CSV) and responsibility zones (vector files)."""


@rules.command("import")
@click.argument("path", type=click.Path())
@_read_options
@click.option("--dry-run", is_flag=True, help="Check and report; write nothing.")
@click.option("--report", "report_path", metavar="FILE")
def rules_import(path: str, district_code: str, crs: str | None, encoding: str | None,
                 fields: tuple[str, ...], dry_run: bool, report_path: str | None) -> None:
    """Import a responsibility list (.csv: class → department) or zones (.shp/.gpkg/…)."""
    from lookup.rules import import_rules

    with session_scope(_ctx().engine()) as s:
        report = import_rules(s, path, district_code, fields=parse_overrides(fields), crs=crs,
                              encoding=encoding, dry_run=dry_run)
        if dry_run:
            s.rollback()
        else:
            _audit(s, report.district, "rules.import", path, report.to_dict())
    _write_report(report.to_dict(), report_path)
    for r in report.rejects[:20]:
        _echo_err(f"  rejected {r.reason:18} {r.message}")
    if report.extra.get("retired"):
        _echo_err(f"  {report.extra['retired']} rules no longer in the file were retired")
    _echo_err(report.summary())


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
    resolver = open_resolver(_ctx().engine(), _ctx().settings, near=(float(x[0]), float(y[0])))
    with session_scope(_ctx().engine()) as s:
        number, dups = report_case(s, resolver, Report(
            lon=float(x[0]), lat=float(y[0]), class_code=class_code, kind=kind,
            description=description, source=source, address=address, person=actor,
            post=post, condition_no=condition))
        _audit(s, number[:6], "case.report", number, {"post": post, "person": actor})
        s.flush()
        out = {**get_case(s, number), "duplicates": dups}
    click.echo(json.dumps(out, ensure_ascii=False, indent=2))
    _echo_err(f"case {number} reported; responsible: {out['department']}"
              + (f"; {len(dups)} possible duplicate(s)" if dups else ""))


@case.command("show")
@click.argument("number")
def case_show(number: str) -> None:
    """A case with its history, as JSON."""
    from cases.store import get_case

    with session_scope(_ctx().engine()) as s:
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
    from api.cases import parse_span
    from cases.store import list_cases

    with session_scope(_ctx().engine()) as s:
        items, total = list_cases(s, district=district_code, state=state, overdue=overdue,
                                  due_within=parse_span(due_within) if due_within else None,
                                  limit=limit)
    for c in items:
        flag = " 超期" if c["overdue"] else ""
        click.echo(f"{c['number']}  {c['state_name']:4}  {c['class']['name']}  "
                   f"{c['department'] or ''}  due {c['due_at'] or '-'}{flag}")
    _echo_err(f"{len(items)} of {total} cases")


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

    with session_scope(_ctx().engine()) as s:
        done = apply(s, number, action, Actor(post, actor), note=note,
                     department=department, extend_by=extend_by, condition_no=condition)
        _audit(s, number[:6], f"case.{action}", number, {"post": post, "person": actor})
    _echo_err(f"case {number}: {done['from']} → {done['to']}")


@cli.command("stats")
@click.option("--district", "district_code", required=True)
@click.option("--from", "start", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--to", "end", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--by", type=click.Choice(["district", "department", "grid", "street"]),
              default="district", show_default=True)
def stats_cmd(district_code: str, start: Any, end: Any, by: str) -> None:
    """Evaluation indicators (CJ/T 292 subset) as JSON."""
    from cases.stats import stats

    with session_scope(_ctx().engine()) as s:
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

    with session_scope(_ctx().engine()) as s:
        report = import_manual(s, path, district_code)
        _audit(s, district_code or "", "manual.import", path, report.to_dict())
    for r in report.rejects[:20]:
        _echo_err(f"  rejected {r.message}")
    _echo_err(report.summary())


@cli.group()
def calendar() -> None:
    """The working calendar (holidays and 调休 workdays)."""


@calendar.command("add")
@click.argument("path", type=click.Path())
def calendar_add(path: str) -> None:
    """Add calendar days (CSV: date, kind holiday|workday, name)."""
    from cases.limits import add_calendar

    with session_scope(_ctx().engine()) as s:
        report = add_calendar(s, path)
        _audit(s, "", "calendar.add", path, report.to_dict())
    for r in report.rejects[:20]:
        _echo_err(f"  rejected {r.message}")
    _echo_err(report.summary())


@cli.group()
def token() -> None:
    """API tokens: roles city_admin, district_gis, operator, api_client, public_intake."""


@token.command("create")
@click.option("--role", required=True,
              type=click.Choice(["city_admin", "district_gis", "operator", "api_client",
                                 "public_intake"]))
@click.option("--district", "districts", help="CODE[,CODE]: the districts it covers (all "
                                                "districts for city_admin).")
@click.option("--name", help="The person it is issued to, e.g. 张三 (required with --post).")
@click.option("--post", type=click.Choice(["监督员", "受理员", "值班长", "派遣员", "专业部门"]),
              help="The person's post in the case workflow (roles operator and city_admin).")
@click.option("--department", help="A 专业部门 token's department, e.g. 宣州区城市管理局.")
@click.option("--grids", help="CODE[,CODE]: the grids a 监督员 patrols.")
@click.option("--expires", type=float, metavar="DAYS", help="Days until it expires.")
def token_create(role: str, districts: str | None, name: str | None, post: str | None,
                 department: str | None, grids: str | None, expires: float | None) -> None:
    """Create a token for a person; prints the secret once (only its hash is kept)."""
    from api.auth import create_token

    with session_scope(_ctx().engine()) as s:
        raw, info = create_token(s, role=role, districts=districts, name=name,
                                 expires_days=expires, post=post, department=department,
                                 grids=grids)
        _audit(s, "", "token.create", str(info["id"]), info)
    click.echo(raw)
    covers = ",".join(info["districts"]) or "every district"
    expiry = f"; expires {info['expires_at']}" if info["expires_at"] else ""
    seat = f", {info['post']}" + (f" of {info['department']}" if info["department"] else "") \
        if info["post"] else ""
    _echo_err(f"token {info['id']} ({info['name']}, {info['role']}{seat}, {covers}) "
              f"created{expiry}")


@token.command("list")
def token_list() -> None:
    """Tokens as JSON (never their secrets)."""
    from api.auth import list_tokens

    with session_scope(_ctx().engine()) as s:
        click.echo(json.dumps(list_tokens(s), ensure_ascii=False, indent=2))


@token.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke a token (it stops working within seconds)."""
    from api.auth import revoke_token

    with session_scope(_ctx().engine()) as s:
        info = revoke_token(s, token_id)
        _audit(s, "", "token.revoke", str(token_id), info)
    _echo_err(f"token {token_id} revoked")


def _audit(session: Any, district: str, action: str, subject: str | None,
           detail: dict[str, Any] | None = None) -> None:
    from gis.security import audit, cli_actor

    audit(session, district=district, actor=cli_actor(), role="cli", action=action,
          subject=subject, detail=detail)


# -- QA ----------------------------------------------------------------------------------------


@cli.group()
def qa() -> None:
    """Quality checks."""


@qa.command("grids")
@click.argument("path", type=click.Path(), required=False)
@_read_options
@_qa_options
@click.option("--report", "report_path", metavar="FILE", help="Write the JSON report here "
                                                                "('-' for stdout).")
def qa_grids_cmd(path: str | None, district_code: str, crs: str | None, encoding: str | None,
                 fields: tuple[str, ...], tolerance: float | None, area_band: str | None,
                 accept: tuple[str, ...], report_path: str | None) -> None:
    """Check a grid file before import (PATH), or the district's stored grids."""
    from grid.inspect import qa_path, qa_stored

    options = _make_qa_options(tolerance, area_band, accept)
    with session_scope(_ctx().engine()) as s:
        if path:
            report = qa_path(s, district_code, path, crs=crs, encoding=encoding,
                             fields=parse_overrides(fields), options=options)
        else:
            if crs or encoding or fields:
                raise click.UsageError("--crs, --encoding and --field apply to a file; "
                                       "give PATH")
            report = qa_stored(s, district_code, options)
        s.rollback()
    _write_report(report.to_dict(), report_path)
    _echo_findings(report)
    _echo_err(report.summary())
    if report.errors:
        sys.exit(EXIT_QA)


# -- serving -----------------------------------------------------------------------------------


@cli.command()
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8000).")
def serve(host: str | None, port: int | None) -> None:
    """Serve the HTTP API and the map."""
    from api.server import run

    ctx = _ctx()
    ctx.engine()  # fail here, with one line, when the database is not there
    run(ctx.settings, host=host, port=port)


@cli.command()
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8000).")
@click.option("--no-serve", is_flag=True, help="Load the sample city and stop.")
@click.option("--samples", type=click.Path(exists=True, file_okay=False), default=None,
              help="Folder of the sample city (default data/samples).")
def demo(host: str | None, port: int | None, no_serve: bool, samples: str | None) -> None:
    """Database up, migrate, load the sample city (两县 of 宣城市), serve the map."""
    from api.demo import load_samples
    from api.server import run

    ctx = _ctx()
    url, _ = ctx.bring_up()
    _echo_err(f"database ready: {redact(url)}")
    load_samples(ctx.engine(), Path(samples) if samples else None, echo=_echo_err)
    from api.demo import COUNTIES, demo_tokens

    tokens = demo_tokens(ctx.engine(), ctx.settings.home)
    h, p = host or ctx.settings.host, port or ctx.settings.port
    _echo_err(f"map (city administrator token included): http://{h}:{p}/map#token={tokens[0][1]}")
    _echo_err(f"one token per post of {COUNTIES[0][0]} {COUNTIES[0][1]}, to try each seat:")
    for label, raw in tokens[1:]:
        _echo_err(f"  {label:6} http://{h}:{p}/map#token={raw}")
    if not no_serve:
        run(ctx.settings, host=host, port=port)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the command and turn every failure into one line and an exit status."""
    debug = bool(os.environ.get("CITYGRID_DEBUG"))
    try:
        rv = cli.main(args=argv, prog_name="citygrid", standalone_mode=False)
        sys.exit(rv if isinstance(rv, int) else 0)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx else "citygrid"
        _echo_err(f"{where}: {exc.format_message()} (see {where} --help)")
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        _echo_err(f"citygrid: {exc.format_message()}")
        sys.exit(exc.exit_code)
    except click.Abort:
        _echo_err("citygrid: aborted")
        sys.exit(130)
    except CitygridError as exc:
        if debug:
            raise
        _echo_err(f"citygrid: {exc.message}")
        sys.exit(exc.exit_code)
    except OperationalError as exc:
        if debug:
            raise
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "lost connection"
        _echo_err(f"citygrid: database error: {reason}")
        sys.exit(4)
    except KeyboardInterrupt:
        _echo_err("citygrid: interrupted; nothing was committed")
        sys.exit(130)
    except Exception as exc:
        if debug:
            raise
        _echo_err(f"citygrid: internal error: {type(exc).__name__}: {exc} "
                  "(run with CITYGRID_DEBUG=1 for the traceback)")
        sys.exit(70)


if __name__ == "__main__":
    main()
