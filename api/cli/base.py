"""What every command shares: the `citygrid` group, the context (settings, database), how a
command that changes something runs (`acting`: one transaction, dry run, audit event), reports,
messages, and the options several commands take."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from sqlalchemy.orm import Session

from api.context import Context
from api.operation import Outcome, cli_caller, operation
from api.settings import Settings
from gis.db import session_scope
from grid.locks import Waiting

EXIT_QA = 1


class BadOption(click.BadParameter):
    """An option's bad value in citygrid's own words, Chinese first and naming the option:
    `main` prints it as it is (click's own messages, in English, get a Chinese line first)."""


class BadUsage(click.UsageError):
    """A usage error in citygrid's own words, Chinese first."""


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="citygrid")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """citygrid: unit grids, the component census and responsibility for 数字城管."""
    ctx.obj = Context(Settings())
    ctx.call_on_close(ctx.obj.dispose)


def context() -> Context:
    obj = click.get_current_context().find_root().obj
    assert isinstance(obj, Context)
    return obj


@contextmanager
def session() -> Iterator[Session]:
    """A session committed when the block ends cleanly (for reading, and for commands that
    change nothing worth an audit event)."""
    with session_scope(context().engine()) as s:
        yield s


@contextmanager
def acting(action: str, *, district: str = "", subject: str | None = None,
           dry_run: bool = False, waiting: Waiting | None = None
           ) -> Iterator[tuple[Session, Outcome]]:
    """A session for a command that changes something, as the local administrator: committed
    with its audit event (`api.operation`), or rolled back (an error, --dry-run, a refusal).
    With `waiting` (an import), the district is held first."""
    with Session(context().engine()) as s, operation(s, cli_caller(), action,
                                                     district=district, subject=subject,
                                                     dry_run=dry_run, waiting=waiting) as op:
        yield s, op


def wait_option(f: Any) -> Any:
    return click.option("--no-wait", is_flag=True,
                        help="When another import holds the district, stop at once (exit 75) "
                             "instead of waiting for it.")(f)


def waiting(no_wait: bool) -> Waiting:
    """An import from the terminal waits for its district as long as it takes, saying once
    who holds it (or, with --no-wait, refuses at once)."""
    return Waiting(seconds=0 if no_wait else None, on_wait=echo_err)


def write_report(data: dict[str, Any], target: str | None) -> None:
    if not target:
        return
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n"
    if target == "-":
        click.echo(text, nl=False)
    else:
        Path(target).write_text(text, encoding="utf-8")


def echo_err(text: str) -> None:
    click.echo(text, err=True)




def read_options(f: Any) -> Any:
    f = click.option("--field", "fields", multiple=True, metavar="TARGET=SOURCE",
                     help="Map a target attribute to a field of the file (repeatable).")(f)
    f = click.option("--encoding", help="Text encoding of a shapefile without .cpg, e.g. GBK.")(f)
    f = click.option("--crs", help="CRS of the coordinates when the file has none or a wrong "
                                   "one, e.g. EPSG:4549.")(f)
    f = click.option("--district", "district_code", required=True, help="6-digit district code.")(f)
    return f


def qa_options(f: Any) -> Any:
    f = click.option("--tolerance", type=float, default=None,
                     help="Overlaps and gaps thinner than this many metres are ignored "
                          "(default 0.05).")(f)
    f = click.option("--area-band", default=None, metavar="MIN,MAX",
                     help="Grid areas outside this band in m² are warnings "
                          "(default 2000,50000).")(f)
    f = click.option("--accept", multiple=True, metavar="KIND",
                     help="Report findings of this kind as warnings (overlap, gap, nesting, …).")(f)
    return f


def make_qa_options(tolerance: float | None, area_band: str | None,
                    accept: tuple[str, ...]) -> Any:
    from grid.qa import SEVERITY, QaOptions

    kwargs: dict[str, Any] = {}
    if tolerance is not None:
        if not tolerance >= 0:
            raise BadOption(f"--tolerance：{tolerance} 为负数 (--tolerance: {tolerance} is "
                            "negative)", param_hint="--tolerance")
        kwargs["tolerance_m"] = tolerance
    if area_band:
        try:
            lo, hi = (float(v) for v in area_band.split(","))
        except ValueError:
            raise BadOption(f"--area-band：{area_band!r} 不是 MIN,MAX 形式的面积（m²） "
                            f"(--area-band: {area_band!r} is not MIN,MAX in m²)",
                            param_hint="--area-band") from None
        if not 0 <= lo < hi:
            raise BadOption(f"--area-band：{area_band!r} 须满足 0 <= MIN < MAX "
                            f"(--area-band: {area_band!r}: need 0 <= MIN < MAX)",
                            param_hint="--area-band")
        kwargs["area_band_m2"] = (lo, hi)
    unknown = sorted(set(accept) - set(SEVERITY))
    if unknown:
        raise BadOption(f"--accept：没有问题类型 {unknown[0]!r}，可用的有 {', '.join(SEVERITY)} "
                        f"(--accept: unknown kind {unknown[0]!r})", param_hint="--accept")
    return QaOptions(accept=frozenset(accept), **kwargs)


def echo_findings(qa: Any, limit: int = 20) -> None:
    shown = qa.errors[:limit] + qa.warnings[: max(0, limit - len(qa.errors))]
    for f in shown:
        area = f" {f.area_m2:,.2f} m²" if f.area_m2 is not None else ""
        where = f" at {f.where[0]:.6f},{f.where[1]:.6f}" if f.where else ""
        echo_err(f"  {f.severity:7} {f.kind:16} {f.message}{area if 'm²' not in f.message else ''}"
                 f"{where}")
    rest = len(qa.findings) - len(shown)
    if rest > 0:
        echo_err(f"  …另有 {rest} 项，见 --report (… and {rest} more, see --report)")


class Progress:
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
