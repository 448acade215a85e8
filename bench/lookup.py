"""lookup: one in-process lookup with a component class, `Resolver.resolve(lon, lat, "0101")`,
at city scale (10,000 grids and the 1,000,000-component census, in a throwaway database, in the
lookup index as the server holds it).

The target (the speed issue, #18): a median call at most 3.0 times the anchor's. The anchor is
the bare point-in-polygon query that any lookup has to make, shapely's STRtree over the same
grids (EPSG:4490, as stored):

    tree.query(shapely.Point(lon, lat), predicate="intersects")

Both sides get the same points as Python floats (a random grid, anywhere in it: some fall
within a metre of a neighbour, which ours reports as ambiguous) and make the point themselves.
Every call is timed on its own (perf_counter_ns around it); a run's figure is the median call
of its pass over all the points, and the runs alternate ours, anchor, ours, … The answer of
ours is the full lookup dict (grid, community, street, nearest 上水井盖 within 30 m with its
owner/maintainer, responsible party, ambiguity), not rendered to JSON.

The notes (--verbose) add ours without a class, the mean and the 90th/99th percentile calls,
and the check that both sides found the same grid for every point.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable

import numpy as np
import shapely
from shapely import STRtree

from bench.city import LOOKUP_CLASS, city_database, load_index
from bench.measure import Benchmark, MeasurementFailed, Result, Run, Timings, log, seconds
from bench.synthetic import lookup_points
from lookup.resolve import Resolver

TARGET = 3.0            # ours / anchor, the speed issue (#18)
POINTS = 20_000          # per timed pass, at scale 1


def measure(run: Run) -> Result:
    n = max(1_000, round(POINTS * min(1.0, run.scale)))
    with city_database("lookup", run.scale) as city:
        index = load_index(city, "lookup")
    resolver = Resolver(index)
    (district,) = index.districts.values()
    tree = STRtree(district.grid_geoms)
    lon, lat = lookup_points(city.layout, n)
    points = list(zip(lon.tolist(), lat.tolist(), strict=True))

    def ours() -> None:
        for x, y in points:
            resolver.resolve(x, y, LOOKUP_CLASS)

    checked = check(resolver, tree, district.grid_codes, points)
    log(f"  lookup: {checked}")

    # one warm-up pass of each (first calls build GEOS's prepared geometries lazily)
    per_call(ours_call(resolver, LOOKUP_CLASS), points)
    per_call(anchor_call(tree), points)
    ours_s: list[float] = []
    anchor_s: list[float] = []
    bare_s: list[float] = []
    calls: list[np.ndarray] = []
    for i in range(run.repeat):
        mine = per_call(ours_call(resolver, LOOKUP_CLASS), points)
        theirs = per_call(anchor_call(tree), points)
        bare = per_call(ours_call(resolver, None), points)
        calls.append(mine)
        ours_s.append(float(np.median(mine)))
        anchor_s.append(float(np.median(theirs)))
        bare_s.append(float(np.median(bare)))
        log(f"  lookup {i + 1}/{run.repeat}: median call: ours {seconds(ours_s[-1])}, anchor "
            f"{seconds(anchor_s[-1])} (ours without a class {seconds(bare_s[-1])})")
    if run.profile is not None:
        run._profile(run.profile, ours, None)

    timings = Timings(ours_s, anchor_s)
    median_run = calls[sorted(range(len(ours_s)), key=ours_s.__getitem__)[(len(ours_s) - 1) // 2]]
    met = "met" if timings.ours_median <= TARGET * timings.anchor_median else "MISSED"
    sample = points[:2000]
    found = sum(1 for x, y in sample
                if resolver.resolve(x, y, LOOKUP_CLASS).component is not None)
    notes = [
        f"{n:,} points per run, each call timed alone; the figure of a run is its median call",
        f"ours, median run: mean {seconds(float(median_run.mean()))}, p90 "
        f"{seconds(float(np.percentile(median_run, 90)))}, p99 "
        f"{seconds(float(np.percentile(median_run, 99)))}",
        f"ours without a class (grid, street, community, territorial fallback): median "
        f"{seconds(statistics.median(bare_s))}",
        f"a {LOOKUP_CLASS} component within 30 m for {100 * found / len(sample):.1f} % of the "
        f"first {len(sample):,} points",
        checked,
    ]
    return Result(size=f"{city.size}", timings=timings, notes=notes,
                  summary=f"target ratio ≤ {TARGET}: {met}")


def ours_call(resolver: Resolver, class_code: str | None) -> Callable[[float, float], object]:
    def call(x: float, y: float) -> object:
        return resolver.resolve(x, y, class_code)
    return call


def anchor_call(tree: STRtree) -> Callable[[float, float], object]:
    def call(x: float, y: float) -> object:
        return tree.query(shapely.Point(x, y), predicate="intersects")
    return call


def per_call(call: Callable[[float, float], object],
             points: list[tuple[float, float]]) -> np.ndarray:
    """Seconds of every call, one at a time. The closure layer costs both sides the same
    (~0.1 µs)."""
    out = np.empty(len(points))
    clock = time.perf_counter_ns
    gc.collect()
    for i, (x, y) in enumerate(points):
        start = clock()
        call(x, y)
        out[i] = clock() - start
    return out / 1e9


def check(resolver: Resolver, tree: STRtree, grid_codes: np.ndarray,
          points: list[tuple[float, float]]) -> str:
    """Both sides put every point in the same grid (where the anchor finds exactly one)."""
    same = single = 0
    for x, y in points:
        hits = tree.query(shapely.Point(x, y), predicate="intersects")
        if len(hits) != 1:
            continue
        single += 1
        same += resolver.resolve(x, y).grid == grid_codes[hits[0]]
    if single < 0.99 * len(points) or same != single:
        raise MeasurementFailed(f"ours and the anchor disagree: {same:,} of {single:,} points "
                                f"in one grid by the anchor are in the same grid by ours "
                                f"({len(points):,} points)")
    return (f"same grid by both for all {same:,} points the anchor finds in exactly one grid "
            f"({len(points) - single:,} on an edge)")


BENCHMARK = Benchmark(
    name="lookup",
    ours=f"lookup.resolve.Resolver.resolve(lon, lat, {LOOKUP_CLASS!r}) per point, in process",
    anchor="shapely STRtree(grids).query(Point(lon, lat), predicate='intersects') per point",
    measure=measure,
    default_repeat=5,
)
