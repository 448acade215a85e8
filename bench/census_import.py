"""census_import: first import of a 1,000,000-component census into PostGIS,
`census.importer.import_components`, against the two tools a GIS person would load it with.

The input (`bench.synthetic.census_shapefile`) is a legacy CJ/T 214 census as a contractor
delivers it: GBK, Chinese field names, DBF Date fields, EPSG:4549, one point per component,
all inside the 10,000 grids of the grid benchmarks, which are imported first (untimed).

Ours reads the file, decodes GBK, maps the fields, validates every row (code length, digits,
district prefix, class in the catalog, status, dates, geometry, duplicates), reprojects to
EPSG:4490, assigns every point to its grid, cross-checks the file's 所在网格, registers the
organisations, COPYs into a staging table and merges into `component` (primary key, GiST and
two B-tree indexes, foreign keys), keeps the import report, and commits.

The anchor is the faster of two bare loads of the same file into a new table of the same
database, both timed as the commands they are (process start included):

    ogr2ogr -f PostgreSQL PG:"…" 部件普查.shp -t_srs EPSG:4490 -nln bench_bare_component_ogr
            -lco GEOMETRY_NAME=geom -lco SPATIAL_INDEX=NONE -oo ENCODING=CP936
    shp2pgsql -s 4549:4490 -D -W CP936 -Z 部件普查.shp bench_bare_component_shp
            | psql -X -q -v ON_ERROR_STOP=1

"Bare" as the issue means it, they reproject and copy, nothing more: no spatial index (ogr2ogr
builds a GiST index unless told SPATIAL_INDEX=NONE; shp2pgsql builds none without -I) and no
ANALYZE (shp2pgsql runs one unless -Z). Each still gives its table the serial primary key it
always makes. What a GiST index would add to the anchor is measured once and printed in the
notes. PG_USE_COPY is ogr2ogr's default for a new table (and -gt unlimited, one transaction,
made no measurable difference here). shp2pgsql's -D (COPY) works with -s FROM:TO in PostGIS 3.3
(COPY into a temporary table, ST_Transform there, INSERT … SELECT) and was about 5× faster than
its default INSERT per row at 100,000 rows, so -D it is. A `shp2pgsql | psql` pipe can exit 0
after failing, so both exit codes are checked (psql stops at the first error) and the rows of
all three tables counted afterwards; the three tables must also hold the same points.

Every repetition is a real first import: before each of ours the census tables of the district
(component, census_import, organisation) are emptied, untimed; before each anchor its table is
dropped. A CHECKPOINT (untimed, when the role may) before every timed call keeps one side's
writes from being flushed on the other's clock.

As a user runs it (the speed issue, #18: at most the anchor's time): 200,000 components of the same
kind imported by the whole `citygrid import components` process (interpreter, imports, schema
check, connection, import, commit; one untimed run first for the bytecode cache), alternating
with `shp2pgsql | psql` of the same file, printed as the row `census_import/process`.

Peak memory: after the timed runs, one more import of ours runs in a fresh Python process, and
its peak resident set (VmHWM: interpreter, libraries and the import) is printed with the
resident set it had before the import began. The database server's memory is not counted.
"""

from __future__ import annotations

import gc
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bench.databases import ROOT, drop_table, libpq_conninfo, throwaway_database, truncate
from bench.measure import Benchmark, MeasurementFailed, Result, Run, Timings, log, seconds
from bench.synthetic import CRS, GridLayout, census_shapefile, grid_shapefile
from census.importer import ComponentImportOptions, import_components
from census.tables import census_import, component, organisation
from gis.db import make_engine, session_scope
from gis.report import ImportReport
from grid.districts import add_district
from grid.importer import import_grids

COMPONENTS = 1_000_000          # at scale 1
PROCESS_COMPONENTS = 200_000    # the whole-process comparison's census, at scale 1 (#18)
MEMORY_TARGET_MB = 2048         # the "peak memory under 2 GB"
BARE_OGR = "bench_bare_component_ogr"
BARE_SHP = "bench_bare_component_shp"
URL_VARIABLE = "CITYGRID_BENCH_CENSUS_URL"   # how the memory probe learns its database
TOOL_ERROR = re.compile(r"\b(ERROR|FAILURE|FATAL)\b")   # GDAL, psql and shp2pgsql say so


def measure(run: Run) -> Result:
    layout = GridLayout.scaled(run.scale)
    n = max(1, round(COMPONENTS * run.scale))
    grids_path = grid_shapefile(layout)
    log(f"  census_import: making (or reusing) the {n:,}-component census file")
    path = census_shapefile(layout, n)
    reports: list[ImportReport] = []
    stages: list[dict[str, float]] = []
    with throwaway_database("census_import") as url:
        engine = make_engine(url)
        try:
            with session_scope(engine) as session:
                add_district(session, layout.district, name="宣州区", scheme="legacy", crs=CRS)
            log(f"  census_import: importing the {layout.grids:,} grids first (untimed)")
            with Session(engine) as session:
                grid_report, _ = import_grids(session, grids_path, layout.district)
                session.commit()
            if grid_report.imported != layout.grids:
                raise MeasurementFailed(f"the grids did not import: {grid_report.summary()}")

            def ours() -> None:
                clock = StageClock()
                with Session(engine) as session:
                    report = import_components(session, path, layout.district,
                                               ComponentImportOptions(), progress=clock)
                    clock("commit", 0, 0)
                    session.commit()
                reports.append(report)
                stages.append(clock.durations())

            def before_ours() -> None:
                truncate(engine, component, census_import, organisation)
                checkpoint(engine)

            def before(table: str) -> Callable[[], None]:
                def prepare() -> None:
                    drop_table(engine, table)
                    checkpoint(engine)
                return prepare

            sides = {"ours": Side(ours, before_ours),
                     "ogr2ogr": Side(lambda: ogr2ogr(url, path), before(BARE_OGR)),
                     "shp2pgsql | psql": Side(lambda: shp2pgsql_psql(url, path),
                                              before(BARE_SHP))}
            times = alternate(run, sides)
            if run.profile is not None:   # what Run.compare does after its timed runs
                run._profile(run.profile, ours, before_ours)

            report = reports[-1]
            stored = {t: count(engine, t) for t in (component.name, BARE_OGR, BARE_SHP)}
            loaded = (f"rows stored: {stored[component.name]:,} by ours, {stored[BARE_OGR]:,} "
                      f"by ogr2ogr, {stored[BARE_SHP]:,} by shp2pgsql | psql")
            log(f"  census_import: {report.summary()}; {loaded}")
            if set(stored.values()) != {n} or report.imported != n:
                raise MeasurementFailed(f"expected {n:,} components stored by all three; "
                                        f"{loaded} (ours: {report.summary()})")
            same = same_points(engine)
            gist = gist_seconds(engine, BARE_OGR)
            small = max(1, round(PROCESS_COMPONENTS * run.scale))
            log(f"  census_import: {small:,} components as a user imports them, the whole "
                f"`citygrid import components` process, against shp2pgsql | psql")
            small_path = census_shapefile(layout, small)
            before_ours()
            citygrid_import(url, small_path, layout.district)  # untimed: bytecode cached
            process = alternate(run, {
                "ours (process)": Side(lambda: citygrid_import(url, small_path, layout.district),
                                       before_ours),
                "shp2pgsql | psql": Side(lambda: shp2pgsql_psql(url, small_path),
                                         before(BARE_SHP))})
            small_stored = {t: count(engine, t) for t in (component.name, BARE_SHP)}
            if set(small_stored.values()) != {small}:
                raise MeasurementFailed(f"expected {small:,} components stored by the citygrid "
                                        f"process and by shp2pgsql | psql: {small_stored}")

            log("  census_import: one more import of ours in a fresh process, for its peak "
                "memory")
            before_ours()
            peak = peak_memory(url, path, layout.district, n)
        finally:
            engine.dispose()

    anchors = {k: v for k, v in times.items() if k != "ours"}
    faster = min(anchors, key=lambda k: statistics.median(anchors[k]))
    ours_median = statistics.median(times["ours"])
    notes = [
        report.summary(),
        loaded,
        *(f"{name}: {', '.join(seconds(s) for s in t)} (median "
          f"{seconds(statistics.median(t))}; ours / it = "
          f"{ours_median / statistics.median(t):.2f})" for name, t in anchors.items()),
        f"anchor = the one with the lower median, {faster}; both load bare: reprojected and "
        f"copied, no spatial index, no ANALYZE (a GiST index on the ogr2ogr table would add "
        f"{seconds(gist)})",
        f"stages of ours, median run, between the importer's progress calls: "
        f"{stage_line(median_run(stages, times['ours']))} ('organisations' lasts until the "
        "first COPY chunk is sent, so it includes building the staging CSV)",
        same,
        peak,
    ]
    whole = Timings(process["ours (process)"], process["shp2pgsql | psql"])
    timings = Timings(times["ours"], anchors[faster])
    return Result(size=f"{n:,} components", timings=timings, notes=notes,
                  summary="target ratio ≤ 1.0: " + ("met" if timings.ratio <= 1.0 else "MISSED"),
                  more={"process": whole},
                  more_sizes={"process": f"{small:,} components, the whole `citygrid import "
                                         "components` process, against shp2pgsql | psql"},
                  more_summaries={"process": "target ratio ≤ 1.0: " +
                                  ("met" if whole.ratio <= 1.0 else "MISSED")})


CITYGRID = Path(sys.executable).parent / "citygrid"


def citygrid_import(url: str, path: Path, district: str) -> None:
    """Ours as a user runs it: the `citygrid import components` command of this environment, a
    process of its own (interpreter, imports, schema check, connection, import, commit), with
    Python's bytecode cache as an installed command has it."""
    env = {**os.environ, "DATABASE_URL": url}
    for name in ("CITYGRID_DEBUG", "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)
    result = subprocess.run([str(CITYGRID), "import", "components", str(path), "--district",
                             district], capture_output=True, text=True, env=env)
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        raise MeasurementFailed(f"citygrid import components exited {result.returncode}: "
                                f"{lines[-1] if lines else 'no message'}")


# -- timing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Side:
    call: Callable[[], object]
    before: Callable[[], object]


def alternate(run: Run, sides: dict[str, Side]) -> dict[str, list[float]]:
    """Time each side in turn, `run.repeat` rounds (ours, ogr2ogr, shp2pgsql, ours, …), as
    `Run.compare` does for two: a slow minute of a shared machine hurts every side."""
    times: dict[str, list[float]] = {name: [] for name in sides}
    for i in range(run.repeat):
        for name, side in sides.items():
            side.before()
            gc.collect()
            start = time.perf_counter()
            side.call()
            times[name].append(time.perf_counter() - start)
        log(f"  {run.name} {i + 1}/{run.repeat}: " +
            ", ".join(f"{name} {seconds(t[-1])}" for name, t in times.items()))
    return times


@dataclass
class StageClock:
    """The importer's progress callback: when each stage began."""

    marks: list[tuple[str, float]] = field(default_factory=list)
    start: float = field(default_factory=time.perf_counter)

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.marks or self.marks[-1][0] != stage:
            self.marks.append((stage, time.perf_counter()))

    def durations(self) -> dict[str, float]:
        """Seconds per stage; the time before the first progress call is 'setup' (district
        lock, the grids loaded from the database); 'commit' ends at the call's end."""
        end = time.perf_counter()
        out: dict[str, float] = {}
        bounds = [("setup", self.start), *self.marks, ("", end)]
        for (stage, t0), (_, t1) in pairwise(bounds):
            if stage != "done":
                out[stage] = out.get(stage, 0.0) + t1 - t0
        return out


def median_run(stages: list[dict[str, float]], ours: list[float]) -> dict[str, float]:
    """The stage times of the run whose total was the median."""
    timed = stages[:len(ours)]   # a --profile run comes after the timed ones
    k = sorted(range(len(ours)), key=ours.__getitem__)[(len(ours) - 1) // 2]
    return timed[k]


def stage_line(stage: dict[str, float]) -> str:
    return ", ".join(f"{name} {seconds(s)}" for name, s in stage.items())


# -- the anchors -------------------------------------------------------------------------------


def ogr2ogr(url: str, path: Path) -> None:
    """Anchor (a): GDAL loads the file bare, COPY into a new table, no spatial index."""
    conninfo, env = libpq_conninfo(url)
    cmd = ["ogr2ogr", "-f", "PostgreSQL", f"PG:{conninfo}", str(path), "-t_srs", "EPSG:4490",
           "-nln", BARE_OGR, "-lco", "GEOMETRY_NAME=geom", "-lco", "SPATIAL_INDEX=NONE",
           "-oo", "ENCODING=CP936"]
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    except FileNotFoundError:
        raise MeasurementFailed("ogr2ogr is not installed (Debian: apt-get install gdal-bin)") \
            from None
    if result.returncode != 0:
        raise MeasurementFailed(f"ogr2ogr exited {result.returncode}: "
                                f"{message(result.stderr or result.stdout)}")


def shp2pgsql_psql(url: str, path: Path) -> None:
    """Anchor (b): PostGIS's loader in dump (COPY) format, reprojecting, piped into psql.

    Both exit codes are checked (a pipe's status is only its last command's), psql stops at
    the first error, and the caller counts the rows: a truncated dump can still commit.
    """
    conninfo, env = libpq_conninfo(url)
    dump = ["shp2pgsql", "-s", "4549:4490", "-D", "-W", "CP936", "-Z", str(path), BARE_SHP]
    load = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", conninfo]
    with tempfile.TemporaryFile() as dump_err:   # a file: a full pipe would stall shp2pgsql
        try:
            producer = subprocess.Popen(dump, stdout=subprocess.PIPE, stderr=dump_err)
        except FileNotFoundError:
            raise MeasurementFailed("shp2pgsql is not installed (Debian: apt-get install "
                                    "postgis)") from None
        assert producer.stdout is not None
        try:
            consumer = subprocess.Popen(load, stdin=producer.stdout, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, env=env)
        except FileNotFoundError:
            producer.kill()
            producer.wait()
            raise MeasurementFailed("psql is not installed (Debian: apt-get install "
                                    "postgresql-client)") from None
        finally:
            producer.stdout.close()    # psql alone holds the read end now
        _, load_err = consumer.communicate()
        dumped = producer.wait()
        dump_err.seek(0)
        dump_msg = dump_err.read().decode("utf-8", "replace")
    # psql stopping at an error kills shp2pgsql with SIGPIPE: then psql's message is the cause.
    if dumped not in (0, -signal.SIGPIPE):
        raise MeasurementFailed(f"shp2pgsql exited {dumped}: {message(dump_msg)}")
    if consumer.returncode != 0:
        raise MeasurementFailed(f"psql exited {consumer.returncode} loading shp2pgsql's dump: "
                                f"{message(load_err.decode('utf-8', 'replace'))}")
    if dumped != 0:
        raise MeasurementFailed(f"shp2pgsql exited {dumped}: {message(dump_msg)}")


def message(text: str) -> str:
    """The line of a tool's stderr that says what went wrong: its first error, else its last."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if TOOL_ERROR.search(line):
            # GDAL puts "FAILURE:" on a line of its own, the reason on the next
            return f"{line} {lines[i + 1]}" if line.endswith(":") and i + 1 < len(lines) \
                else line
    return lines[-1] if lines else "no message"


# -- checks and extras -------------------------------------------------------------------------


def checkpoint(engine: Engine) -> None:
    """Flush what the last side wrote, so that it is not flushed on the next side's clock."""
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CHECKPOINT"))
    except sa.exc.ProgrammingError:
        pass   # a role without pg_checkpoint: the sides share the noise instead


def count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(sa.table(table)))
                   .scalar_one())


def same_points(engine: Engine) -> str:
    """Ours and both anchors stored the same points: the largest distance between the three
    positions of one 标识码, in metres (EPSG:4549 again, so metres are metres)."""
    with engine.connect() as conn:
        row = conn.execute(sa.text(f"""
            SELECT count(*),
                   max(ST_Distance(ST_Transform(c.geom, 4549), ST_Transform(o.geom, 4549))),
                   max(ST_Distance(ST_Transform(c.geom, 4549), ST_Transform(s.geom, 4549)))
            FROM component c
            JOIN {BARE_OGR} o ON o."标识码" = c.code
            JOIN {BARE_SHP} s ON s."标识码" = c.code""")).one()   # noqa: S608 (our constants)
    matched, d_ogr, d_shp = row
    if d_ogr is None or d_shp is None:
        raise MeasurementFailed("the anchors' tables hold none of our components' codes")
    if max(d_ogr, d_shp) > 0.01:
        raise MeasurementFailed(f"ours and the anchors put the same components up to "
                                f"{max(d_ogr, d_shp):.3f} m apart: not the same reprojection")
    return (f"same points: {matched:,} codes in all three tables, at most "
            f"{max(d_ogr, d_shp) * 1000:.3f} mm apart")


def gist_seconds(engine: Engine, table: str) -> float:
    """What building a GiST index on a bare table takes (the part of ogr2ogr's default load
    that the bare anchor leaves out)."""
    with engine.begin() as conn:
        start = time.perf_counter()
        conn.execute(sa.text(f"CREATE INDEX ON {table} USING gist (geom)"))
        return time.perf_counter() - start


def peak_memory(url: str, path: Path, district: str, n: int) -> str:
    """Import once more in a fresh Python process; its peak resident set, as a note."""
    env = {**os.environ, URL_VARIABLE: url}
    code = "from bench.census_import import probe; probe()"
    result = subprocess.run([sys.executable, "-c", code, str(path), district], cwd=ROOT,
                            env=env, capture_output=True, text=True)
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines() or ["no message"]
        raise MeasurementFailed(f"the memory probe failed: {lines[-1]}")
    probe_result = json.loads(result.stdout.strip().splitlines()[-1])
    if probe_result["imported"] != n:
        raise MeasurementFailed(f"the memory probe imported {probe_result['imported']:,} of "
                                f"{n:,} components")
    peak_mb = probe_result["peak_kb"] / 1024
    verdict = "under" if peak_mb < MEMORY_TARGET_MB else "OVER"
    return (f"peak memory of ours: {peak_mb:,.0f} MB ({verdict} the {MEMORY_TARGET_MB:,} MB "
            f"target): VmHWM of a fresh Python process that ran one import + commit, "
            f"{probe_result['before_kb'] / 1024:,.0f} MB of it before the import "
            f"(interpreter, libraries, engine); {probe_result['seconds']:.2f} s for the import "
            "there; the PostgreSQL server's memory is not counted")


def probe() -> None:
    """The memory probe's body (run by `peak_memory` in a new interpreter): one import of
    ours, then its peak resident set as JSON on stdout."""
    path, district = sys.argv[1], sys.argv[2]
    engine = make_engine(os.environ[URL_VARIABLE])
    try:
        before = _status_kb("VmRSS")
        start = time.perf_counter()
        with Session(engine) as session:
            report = import_components(session, path, district, ComponentImportOptions())
            session.commit()
        elapsed = time.perf_counter() - start
    finally:
        engine.dispose()
    print(json.dumps({"imported": report.imported, "before_kb": before,
                      "peak_kb": _status_kb("VmHWM"), "seconds": elapsed}))


def _status_kb(key: str) -> int:
    """A line of /proc/self/status, in kB; elsewhere the peak that getrusage knows."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(f"{key}:"):
                    return int(line.split()[1])
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak   # bytes on macOS


BENCHMARK = Benchmark(
    name="census_import",
    ours="census.importer.import_components + commit, into a district with no census",
    anchor="the faster of ogr2ogr -t_srs EPSG:4490 and shp2pgsql -s 4549:4490 -D | psql "
           "(bare loads, same database)",
    measure=measure,
)
