"""lookup_bulk: 1,000,000 points at once, `resolve_many(resolver, lon, lat[, "0101"])`, the
columnar answer that POST /lookup renders (rendering the JSON is not timed), at city scale
(10,000 grids, the 1,000,000-component census, in the lookup index as the server holds it).

The targets: at most 2× the anchor without a class, at most 4× with one. The anchor is the bare
point-in-polygon join of the same points with the same grids (EPSG:4490, as stored):

    tree.query(shapely.points(lon, lat), predicate="intersects")

Ours takes longitude/latitude arrays and makes its point geometries itself, so the anchor's
`shapely.points` is timed too. The anchor's STRtree is built before timing, as ours is (in the
index); building it takes milliseconds and is printed in the notes. Ours does more than the
anchor: points within a metre of a neighbouring grid (dwithin, then intersects), the lowest grid
code where two contain a point, and, with a class, the nearest component within 30 m of every
point and whether a second lies within a metre of that distance.

The three sides run alternately (ours without class, ours with, anchor, …), and must agree:
every point the anchor finds in exactly one grid is in the same grid by ours.

Memory: after the timed runs, a fresh Python process loads the index (`LookupIndex(engine).
load()`) from the same database; its resident set before and after (and its peak) is printed
against the 300 MB target.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time

import numpy as np
import shapely
from shapely import STRtree

from bench.census_import import _status_kb
from bench.city import LOOKUP_CLASS, city_database, load_index
from bench.databases import ROOT
from bench.measure import Benchmark, MeasurementFailed, Result, Run, Timings, log, seconds
from bench.synthetic import lookup_points
from gis.db import make_engine
from lookup.bulk import resolve_many
from lookup.index import LookupIndex
from lookup.resolve import Resolver

POINTS = 1_000_000       # at scale 1
MEMORY_TARGET_MB = 300      # the speed issue (#18): a lean index, ≤ 300 MB a million components
URL_VARIABLE = "CITYGRID_BENCH_LOOKUP_URL"   # how the memory probe learns its database


def measure(run: Run) -> Result:
    n = max(1_000, round(POINTS * run.scale))
    with city_database("lookup_bulk", run.scale) as city:
        index = load_index(city, "lookup_bulk")
        resolver = Resolver(index)
        (district,) = index.districts.values()
        started = time.perf_counter()
        tree = STRtree(district.grid_geoms)
        tree_s = time.perf_counter() - started
        lon, lat = lookup_points(city.layout, n)

        def ours_bare() -> None:
            resolve_many(resolver, lon, lat)

        def ours_class() -> None:
            resolve_many(resolver, lon, lat, LOOKUP_CLASS)

        def anchor() -> None:
            tree.query(shapely.points(lon, lat), predicate="intersects")

        checked = check(resolver, tree, lon, lat)
        log(f"  lookup_bulk: {checked}")
        sides = {"ours": ours_bare, f"ours class={LOOKUP_CLASS}": ours_class, "anchor": anchor}
        times: dict[str, list[float]] = {k: [] for k in sides}
        for i in range(run.repeat):
            for name, call in sides.items():
                gc.collect()
                start = time.perf_counter()
                call()
                times[name].append(time.perf_counter() - start)
            log(f"  lookup_bulk {i + 1}/{run.repeat}: " +
                ", ".join(f"{k} {seconds(v[-1])}" for k, v in times.items()))
        if run.profile is not None:
            run._profile(run.profile, ours_class, None)

        log("  lookup_bulk: the index loaded once more in a fresh process, for its memory")
        memory_mb, memory_note = index_memory(city.url)

    bare = Timings(times["ours"], times["anchor"])
    with_class = Timings(times[f"ours class={LOOKUP_CLASS}"], times["anchor"])
    answer = resolve_many(resolver, lon, lat, LOOKUP_CLASS)
    located = int((answer.grid >= 0).sum())
    found = int((answer.component >= 0).sum())

    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    summary = (f"no class ≤ 2×: {verdict(bare.ratio <= 2)}; class={LOOKUP_CLASS} "
               f"{seconds(with_class.ours_median)}, ratio {with_class.ratio:.2f}, ≤ 4×: "
               f"{verdict(with_class.ratio <= 4)}; index RSS {memory_mb:,.0f} MB, ≤ 300 MB: "
               f"{verdict(memory_mb <= MEMORY_TARGET_MB)}")
    notes = [
        f"{n:,} points (lon/lat arrays in, point geometries made by both sides)",
        f"ours with class={LOOKUP_CLASS}: {', '.join(seconds(s) for s in with_class.ours)} "
        f"(median {seconds(with_class.ours_median)}; ratio {with_class.ratio:.2f})",
        f"{located:,} located, {found:,} with a {LOOKUP_CLASS} component within 30 m, "
        f"{int(answer.near_grids.sum()):,} within 1 m of another grid, "
        f"{int(answer.near_components.sum()):,} with a second component within 1 m of the "
        "nearest's distance",
        f"anchor's STRtree over {len(district.grid_geoms):,} grids built in {seconds(tree_s)} "
        "(untimed)",
        checked,
        memory_note,
    ]
    return Result(size=f"{n:,} points", timings=bare, notes=notes, summary=summary)


def check(resolver: Resolver, tree: STRtree, lon: np.ndarray, lat: np.ndarray) -> str:
    """Every point the anchor finds in exactly one grid is in that grid by ours too."""
    p, g = tree.query(shapely.points(lon, lat), predicate="intersects")
    counts = np.bincount(p, minlength=len(lon))
    single = counts == 1
    anchor_grid = np.full(len(lon), -1)
    anchor_grid[p] = g
    answer = resolve_many(resolver, lon, lat)
    ours = answer.grid
    same = int((ours[single] == anchor_grid[single]).sum())
    if single.sum() < 0.99 * len(lon) or same != int(single.sum()):
        raise MeasurementFailed(f"ours and the anchor disagree: {same:,} of {int(single.sum()):,}"
                                f" points in one grid by the anchor are in the same grid by ours")
    return (f"same grid by both for all {same:,} points the anchor finds in exactly one grid; "
            f"{int((counts > 1).sum()):,} on an edge, {int((counts == 0).sum()):,} in none "
            f"(ours: {int((ours < 0).sum()):,} in none)")


def index_memory(url: str) -> tuple[float, str]:
    """Load the index in a fresh Python process; what it added to the resident set, in MB."""
    env = {**os.environ, URL_VARIABLE: url}
    code = "from bench.lookup_bulk import probe; probe()"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines() or ["no message"]
        raise MeasurementFailed(f"the memory probe failed: {lines[-1]}")
    got = json.loads(result.stdout.strip().splitlines()[-1])
    added = (got["after_kb"] - got["before_kb"]) / 1024
    return added, (
        f"index memory: resident set {got['before_kb'] / 1024:,.0f} MB before "
        f"LookupIndex(engine).load() (interpreter, libraries, engine, one connection), "
        f"{got['after_kb'] / 1024:,.0f} MB after (+{added:,.0f} MB; target ≤ "
        f"{MEMORY_TARGET_MB:,} MB), peak {got['peak_kb'] / 1024:,.0f} MB while loading; "
        f"{got['components']:,} components, loaded in {got['seconds']:.2f} s there")


def probe() -> None:
    """The memory probe's body (run by `index_memory` in a new interpreter)."""
    import sqlalchemy as sa

    engine = make_engine(os.environ[URL_VARIABLE])
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        gc.collect()
        before = _status_kb("VmRSS")
        start = time.perf_counter()
        index = LookupIndex(engine).load()
        elapsed = time.perf_counter() - start
        gc.collect()
        after = _status_kb("VmRSS")
    finally:
        engine.dispose()
    components = sum(d.component_count for d in index.districts.values())
    print(json.dumps({"before_kb": before, "after_kb": after, "peak_kb": _status_kb("VmHWM"),
                      "seconds": elapsed, "components": components}))


BENCHMARK = Benchmark(
    name="lookup_bulk",
    ours="lookup.bulk.resolve_many(resolver, lon, lat) (columnar answer, no JSON); also "
         f"with class {LOOKUP_CLASS!r}",
    anchor="shapely STRtree(grids).query(shapely.points(lon, lat), predicate='intersects')",
    measure=measure,
    default_repeat=5,
)
