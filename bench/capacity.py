"""capacity: what a province needs from processes serving a set of districts each
(CITYGRID_DISTRICTS), measured here and packed on paper (#19, "Beyond one server").

1. Memory. A prefecture of four districts of 宣城 (at scale 1: 宣州区 640,000 components,
   宁国市 400,000, 广德市 320,000, 郎溪县 240,000; about 10,000 grids a million components, the
   proportion of the city the other lookup benchmarks use), made by bench/synthetic.py's
   builders, each moved east of the last so that no two districts' grids overlap, and loaded
   through the public importers into a throwaway database (untimed setup; the files are cached
   in bench/.work/). A fresh Python process per measurement, as bench/lookup_bulk.py's probe,
   loads `LookupIndex(engine).load(only=codes)` — what a process started with
   CITYGRID_DISTRICTS=codes loads — for the largest district alone, the smallest alone, the
   two, and all four, and reads its resident set (VmRSS) before and after, with the engine
   still open as a server's is, then once more with the engine closed. Before, it loads a tiny
   district (泾县: 50 grids, 1,000 components) and keeps it: the one-off costs of a process's
   first load (the libraries' first calls) are counted once, as the process's own. It also
   reads the C heap's live allocations (glibc's mallinfo2) before and after.

   What the index holds follows the components: the C heap grows by the same amount a million
   components whichever districts they are in. The resident set does not quite: a process pays
   once, for its largest district, the loading connection's receive buffer (libpq keeps it at
   the size of the largest value it received, and a district's rows come as one value) and the
   pages the allocator keeps from loading it. So the plan counts a set's memory as a slope a
   million components (all four against the largest alone) plus what the largest alone costs
   beyond it, once.

2. Lookups. In this process, the index of the four districts: `Resolver.resolve(lon, lat,
   "0101")` for points spread over them in proportion to their components (interleaved), against
   the anchor the other lookup benchmarks use, the bare point query of a shapely STRtree over the
   same grids (EPSG:4490, as stored), here the grids of all four. A run is one pass over the
   points; its figure is seconds per lookup (the pass over the count, so the mean call, where
   bench/lookup.py quotes the median one), runs alternate ours, anchor, … after one warm-up pass
   each. One thread is one core: lookups per second per core are 1 / the median. Both sides must
   put every point the anchor finds in exactly one grid in the same grid.

3. The province on paper. 100 counties, 30,000,000 components, county sizes drawn from a seeded
   log-normal distribution (σ = 0.8: a city district holds several times a rural county's
   census), packed into district sets first-fit decreasing by components under a budget of
   index memory per process (4 GB; a district is never split), each set served by as many
   processes (one uvicorn worker, one core each) as the stated peak needs with headroom, at
   least two; the largest set is the default, which also answers 421 for the lookups of other
   sets that name no district. Memory and lookups per core are this run's; the rest are
   assumptions stated below (Assumptions), with where each comes from. The simulation checks
   itself — every county placed exactly once, no set over the budget, first fit, the totals
   adding up, the same plan from the same inputs twice — and a failed check fails the
   benchmark. A sweep of budgets follows.

The printed line is the lookup's (ours, anchor, ratio); the summary adds lookups per core, the
index's memory per million components by districts loaded, and the province's plan. The sizing
table goes to stderr while it runs and, with --verbose, to stdout with the notes.

Only what a server imports is imported at the top: the probe process imports this module, and
its resident set before loading is the process's base in the plan. The builders (geopandas,
pyogrio, the importers) are imported where the prefecture is made.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
import sqlalchemy as sa

from bench.measure import Benchmark, MeasurementFailed, Result, Run, Timings, log, seconds
from bench.province import (
    ASSUMED,
    BUDGET_MB,
    COUNTIES,
    PROVINCE_COMPONENTS,
    SEED,
    Measured,
    MemoryModel,
    simulate,
    sweep,
    table,
    verify,
)
from gis.db import make_engine
from lookup.index import LookupIndex
from lookup.resolve import Resolver

if TYPE_CHECKING:
    from bench.synthetic import GridLayout

ROOT = Path(__file__).resolve().parent.parent
LOOKUP_CLASS = "0101"      # 上水井盖, as bench/city.py's LOOKUP_CLASS
POINTS = 20_000            # lookups per timed pass, at scale 1
URL_VARIABLE = "CITYGRID_BENCH_CAPACITY_URL"        # how the memory probe learns its database,
CODES_VARIABLE = "CITYGRID_BENCH_CAPACITY_CODES"    # the districts it loads,
WARMUP_VARIABLE = "CITYGRID_BENCH_CAPACITY_WARMUP"  # and the one it loads first
GAP_M = 2_000.0            # between neighbouring synthetic districts


@dataclass(frozen=True)
class County:
    code: str
    name: str
    components: int        # at scale 1


PREFECTURE = (
    County("341802", "宣州区", 640_000),
    County("341881", "宁国市", 400_000),
    County("341882", "广德市", 320_000),
    County("341821", "郎溪县", 240_000),
)
WARMUP = County("341823", "泾县", 1_000)   # never scaled: 50 grids, 1,000 components

# -- the prefecture -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Placed:
    county: County
    layout: GridLayout
    components: int
    east_m: float          # how far east of bench/synthetic.py's lattice (EPSG:4549 metres)


def place(scale: float) -> tuple[list[Placed], Placed]:
    """The four districts at this scale, side by side west to east, then the warm-up one."""
    from bench.city import census_size
    from bench.synthetic import CELL, GridLayout

    layouts = [(c, replace(GridLayout.scaled(scale * c.components / 1e6), district=c.code,
                           seed=int(c.code)), census_size(scale, c.components))
               for c in PREFECTURE]
    layouts.append((WARMUP, GridLayout(district=WARMUP.code, streets=1, communities=1,
                                       seed=int(WARMUP.code)), WARMUP.components))
    placed: list[Placed] = []
    east = 0.0
    half_before = 0.0
    for county, layout, n in layouts:
        half = layout.streets * layout.block[0] * CELL * 1.15 / 2   # widest columns: +15 %
        if placed:
            east += half_before + GAP_M + half
        placed.append(Placed(county, layout, n, float(round(east))))
        half_before = half
    return placed[:-1], placed[-1]


def moved(geoms: np.ndarray, east_m: float) -> np.ndarray:
    return shapely.transform(geoms, lambda c: c + np.array([east_m, 0.0]))


def grid_file(p: Placed) -> Path:
    from bench.synthetic import CRS, _cached, _write_gbk_shapefile, grid_frame

    def write(shp: Path) -> None:
        frame = grid_frame(p.layout)
        _write_gbk_shapefile(_moved_frame(frame, p.east_m, CRS), shp)

    return _cached(f"capacity-{p.layout.folder_name}-east{p.east_m:.0f}", "单元网格.shp", write)


def census_file(p: Placed) -> Path:
    from bench.synthetic import CENSUS_GENERATOR, CRS, _cached, _write_gbk_shapefile, census_frame

    def write(shp: Path) -> None:
        frame = census_frame(p.layout, p.components)
        _write_gbk_shapefile(_moved_frame(frame, p.east_m, CRS), shp, arrow=True)

    name = (f"capacity-census-v{CENSUS_GENERATOR}-{p.layout.folder_name}-{p.components}"
            f"-east{p.east_m:.0f}")
    return _cached(name, "部件普查.shp", write)


def _moved_frame(frame: Any, east_m: float, crs: str) -> Any:
    import geopandas as gpd

    return gpd.GeoDataFrame(frame.drop(columns=frame.geometry.name),
                            geometry=moved(frame.geometry.to_numpy(), east_m), crs=crs)


def points(placed: list[Placed], n: int) -> tuple[np.ndarray, np.ndarray]:
    """`n` lookup points over the districts in proportion to their components, interleaved:
    bench/synthetic.py's lookup points of each layout, moved east with it."""
    from pyproj import Transformer

    from bench.synthetic import CRS, lookup_points

    to_plane = Transformer.from_crs("EPSG:4490", CRS, always_xy=True)
    to_lonlat = Transformer.from_crs(CRS, "EPSG:4490", always_xy=True)
    total = sum(p.components for p in placed)
    lons: list[np.ndarray] = []
    lats: list[np.ndarray] = []
    for p in placed:
        lon, lat = lookup_points(p.layout, max(1, round(n * p.components / total)), seed=19)
        x, y = to_plane.transform(lon, lat)
        lon, lat = to_lonlat.transform(np.asarray(x) + p.east_m, y)
        lons.append(np.asarray(lon, dtype=float))
        lats.append(np.asarray(lat, dtype=float))
    order = np.random.default_rng(SEED).permutation(sum(len(a) for a in lons))
    return np.concatenate(lons)[order], np.concatenate(lats)[order]


@contextmanager
def prefecture_database(placed: list[Placed], warmup: Placed) -> Iterator[str]:
    """A throwaway database holding the districts, their grids and their censuses."""
    from sqlalchemy.orm import Session

    from bench.city import load_census
    from bench.databases import throwaway_database
    from bench.synthetic import CRS
    from gis.db import session_scope
    from grid.districts import add_district
    from grid.importer import import_grids

    files = []
    for p in [*placed, warmup]:
        log(f"  capacity: making (or reusing) the files of {p.county.name} "
            f"({p.layout.grids:,} grids, {p.components:,} components)")
        files.append((p, grid_file(p), census_file(p)))
    with throwaway_database("capacity") as url:
        engine = make_engine(url)
        try:
            started = time.perf_counter()
            for p, grids, census in files:
                code = p.layout.district
                with session_scope(engine) as session:
                    add_district(session, code, name=p.county.name, scheme="legacy", crs=CRS)
                with Session(engine) as session:
                    report, _ = import_grids(session, grids, code)
                    session.commit()
                if report.imported != p.layout.grids:
                    raise MeasurementFailed(f"the grids of {code} did not import: "
                                            f"{report.summary()}")
                load_census(engine, census, code, p.components)
            with engine.begin() as conn:
                conn.execute(sa.text("ANALYZE"))
            log(f"  capacity: {len(files)} districts loaded in "
                f"{seconds(time.perf_counter() - started)} (untimed setup)")
        finally:
            engine.dispose()
        yield url


# -- 1. memory ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """One fresh process's load of a set of districts (kB)."""

    start_kb: int          # resident: interpreter, libraries, engine, one connection
    before_kb: int         # … and the warm-up district
    after_kb: int          # … and the set: what a server holds (its engine still open)
    closed_kb: int         # … once the engine is closed (its pooled connection with it)
    peak_kb: int           # VmHWM: the most it held, while loading
    heap_kb: int           # the C heap's live allocations the set added (mallinfo2; 0: none)
    seconds: float         # loading the set
    components: int

    @property
    def added_mb(self) -> float:
        return (self.after_kb - self.before_kb) / 1024

    @property
    def mb_per_million(self) -> float:
        return self.added_mb / (self.components / 1e6)

    @property
    def connection_mb(self) -> float:
        """What closing the loading connection gave back (libpq's receive buffer)."""
        return (self.after_kb - self.closed_kb) / 1024

    @property
    def heap_mb_per_million(self) -> float:
        return self.heap_kb / 1024 / (self.components / 1e6)

    @property
    def peak_mb_per_million(self) -> float:
        return (self.peak_kb - self.before_kb) / 1024 / (self.components / 1e6)


def subsets(placed: list[Placed]) -> dict[str, list[str]]:
    """The largest district alone, the smallest alone, the two, all: the three with the largest
    tell what a million more components add to a process that holds it."""
    by_size = sorted(placed, key=lambda p: -p.components)
    codes = [p.layout.district for p in by_size]
    return {"1 (largest)": codes[:1], "1 (smallest)": codes[-1:],
            "2 (largest, smallest)": [codes[0], codes[-1]], str(len(codes)): codes}


def run_probe(url: str, codes: list[str]) -> Probe:
    env = {**os.environ, URL_VARIABLE: url, CODES_VARIABLE: ",".join(codes),
           WARMUP_VARIABLE: WARMUP.code}
    result = subprocess.run([sys.executable, "-c", "from bench.capacity import probe; probe()"],
                            cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines() or ["no message"]
        raise MeasurementFailed(f"the memory probe of {','.join(codes)} failed: {lines[-1]}")
    got = json.loads(result.stdout.strip().splitlines()[-1])
    if sorted(got.pop("districts")) != sorted(codes):
        raise MeasurementFailed(f"the probe of {','.join(codes)} did not load those districts")
    return Probe(**got)


def _status_kb(key: str) -> int:
    """A line of /proc/self/status in kB, as bench/census_import.py's (not imported here: the
    probe's base would count what it imports)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
    raise MeasurementFailed(f"no {key} in /proc/self/status")


def _heap_kb() -> int:
    """The C library's live allocations (glibc's mallinfo2: small blocks and mmapped ones), kB;
    0 elsewhere. Arrow's and Python's own pools are not in it."""
    import ctypes

    class MallInfo2(ctypes.Structure):
        _fields_ = [(f, ctypes.c_size_t) for f in ("arena", "ordblks", "smblks", "hblks",
                                                   "hblkhd", "usmblks", "fsmblks", "uordblks",
                                                   "fordblks", "keepcost")]
    try:
        mallinfo2 = ctypes.CDLL("libc.so.6").mallinfo2
    except (OSError, AttributeError):
        return 0
    mallinfo2.restype = MallInfo2
    got = mallinfo2()
    return int(got.uordblks + got.hblkhd) // 1024


def probe() -> None:
    """The memory probe's body (run by `run_probe` in a new interpreter)."""
    codes = os.environ[CODES_VARIABLE].split(",")
    engine = make_engine(os.environ[URL_VARIABLE])
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        gc.collect()
        start = _status_kb("VmRSS")
        warm = LookupIndex(engine).load(only=[os.environ[WARMUP_VARIABLE]])
        gc.collect()
        before, heap_before = _status_kb("VmRSS"), _heap_kb()
        began = time.perf_counter()
        index = LookupIndex(engine).load(only=codes)
        elapsed = time.perf_counter() - began
        gc.collect()
        after = _status_kb("VmRSS")
    finally:
        engine.dispose()
    gc.collect()
    closed, heap_closed = _status_kb("VmRSS"), _heap_kb()
    if len(warm.districts) != 1:
        raise SystemExit("the warm-up district did not load")
    print(json.dumps({"start_kb": start, "before_kb": before, "after_kb": after,
                      "closed_kb": closed, "peak_kb": _status_kb("VmHWM"),
                      "heap_kb": heap_closed - heap_before, "seconds": elapsed,
                      "components": sum(d.component_count for d in index.districts.values()),
                      "districts": sorted(index.districts)}))


def median_probe(runs: list[Probe]) -> Probe:
    """The run of median memory added (an odd count: that run; even: the lower middle)."""
    return sorted(runs, key=lambda r: r.added_mb)[(len(runs) - 1) // 2]


def fit(medians: dict[str, Probe], placed: list[Placed]) -> MemoryModel:
    """From the probes that hold the largest district: a million more components (the others
    beside it) cost the slope; what the largest alone costs beyond it is paid once."""
    largest = medians["1 (largest)"]
    everything = medians[str(len(placed))]
    more = everything.components - largest.components
    per_million = (everything.added_mb - largest.added_mb) / (more / 1e6)
    once = largest.added_mb - largest.components / 1e6 * per_million
    return MemoryModel(per_million, max(0.0, once) / (largest.components / 1e6))


# -- the benchmark ------------------------------------------------------------------------------


def measure(run: Run) -> Result:
    placed, warmup = place(run.scale)
    n = max(2_000, round(POINTS * min(1.0, run.scale)))
    with prefecture_database(placed, warmup) as url:
        groups = subsets(placed)
        probes: dict[str, list[Probe]] = {k: [] for k in groups}
        for i in range(run.repeat):
            for label, codes in groups.items():
                probes[label].append(run_probe(url, codes))
            log(f"  capacity memory {i + 1}/{run.repeat}: " + ", ".join(
                f"{k} {v[-1].mb_per_million:,.0f} MB/M" for k, v in probes.items()))

        codes = [p.layout.district for p in placed]
        engine = make_engine(url)
        try:
            started = time.perf_counter()
            index = LookupIndex(engine).load(only=codes)
            log(f"  capacity: the {len(codes)} districts loaded in this process in "
                f"{seconds(time.perf_counter() - started)}")
        finally:
            engine.dispose()
    if sorted(index.districts) != sorted(codes):
        raise MeasurementFailed(f"the index holds {sorted(index.districts)}, not {codes}")
    resolver = Resolver(index)
    districts = list(index.districts.values())
    tree = shapely.STRtree(np.concatenate([d.grid_geoms for d in districts]))
    grid_codes = np.concatenate([d.grid_codes for d in districts])
    lon, lat = points(placed, n)
    pts = list(zip(lon.tolist(), lat.tolist(), strict=True))
    from bench.lookup import check  # not at the top: it imports the builders (see above)

    checked = check(resolver, tree, grid_codes, pts)
    log(f"  capacity: {checked}")

    def ours() -> None:
        for x, y in pts:
            resolver.resolve(x, y, LOOKUP_CLASS)

    def anchor() -> None:
        for x, y in pts:
            tree.query(shapely.Point(x, y), predicate="intersects")

    passes = run.compare(ours, anchor, warmup=1)
    timings = Timings([s / len(pts) for s in passes.ours], [s / len(pts) for s in passes.anchor])
    sample = pts[:2_000]
    found = sum(1 for x, y in sample
                if resolver.resolve(x, y, LOOKUP_CLASS).component is not None)

    medians = {k: median_probe(v) for k, v in probes.items()}
    everything = medians[str(len(placed))]
    memory = fit(medians, placed)
    measured = Measured(
        memory=memory,
        load_peak_mb_per_million=max(medians[k].peak_mb_per_million - medians[k].mb_per_million
                                     for k in groups if k.startswith("1 ")),
        base_mb=max(p.before_kb for p in medians.values()) / 1024,
        lookups_per_s=1 / timings.ours_median,
        load_components_per_s=everything.components / everything.seconds)
    plan = simulate(measured, BUDGET_MB)
    verified = verify(plan, measured)
    sized = table(plan, measured)
    swept = sweep(measured)
    for line in [*sized, *swept, verified]:
        log(f"  {line}")

    a = ASSUMED
    summary = (
        f"{measured.lookups_per_s:,.0f} lookups/s a core (class {LOOKUP_CLASS}); index MB a "
        "million components by districts loaded: "
        + ", ".join(f"{k} {p.mb_per_million:,.0f}" for k, p in medians.items())
        + f"; each million more {memory.per_million:,.0f}, the largest's once "
        f"+{memory.largest_per_million:,.0f}; C heap "
        + "/".join(f"{p.heap_mb_per_million:,.0f}" for p in medians.values())
        + f"; province of {COUNTIES} counties, {PROVINCE_COMPONENTS / 1e6:g} M components, peak "
        f"{a.peak_lookups_s:,} lookups/s: {len(plan.sets)} district sets of ≤ "
        f"{BUDGET_MB / 1024:g} GB, {plan.processes} processes, {plan.total_mb / 1024:,.1f} GB, "
        f"{plan.standbys} standbys; checks passed")
    notes = [
        f"{len(pts):,} lookups a pass over {len(placed)} districts; ours "
        f"{', '.join(seconds(s) for s in timings.ours)}, anchor "
        f"{', '.join(seconds(s) for s in timings.anchor)} a lookup",
        f"a {LOOKUP_CLASS} component within 30 m for {100 * found / len(sample):.1f} % "
        f"of the first {len(sample):,} points",
        checked,
        *(f"memory, {k} district{'s' if k[0] != '1' else ''}: {p.components:,} components add "
          f"{p.added_mb:,.0f} MB ({p.mb_per_million:,.0f} MB a million; C heap "
          f"{p.heap_mb_per_million:,.0f}; +{p.peak_mb_per_million - p.mb_per_million:,.0f} "
          f"more while loading); closing the loading connection gives back "
          f"{p.connection_mb:,.0f} MB; loaded in {p.seconds:.2f} s; the process "
          f"{p.start_kb / 1024:,.0f} MB before, {p.before_kb / 1024:,.0f} MB with the warm-up "
          f"district (median of {len(probes[k])} processes: "
          f"{', '.join(f'{r.mb_per_million:,.0f}' for r in probes[k])} MB/M)"
          for k, p in medians.items()),
        *sized, *swept, verified,
    ]
    total = sum(p.components for p in placed)
    return Result(size=f"{len(placed)} districts, {total:,} components", timings=timings,
                  notes=notes, summary=summary)


BENCHMARK = Benchmark(
    name="capacity",
    ours=f"Resolver.resolve(lon, lat, {LOOKUP_CLASS!r}) over 4 districts, per lookup, in "
         "process; the index's memory by district set (LookupIndex.load(only=…), a fresh "
         "process each); the province packed on paper",
    anchor="shapely STRtree(grids of the 4).query(Point(lon, lat), predicate='intersects') "
           "per point",
    measure=measure,
    default_repeat=3,
)
