"""grid_qa: topology QA of a 10,000-grid file before import, `grid.inspect.qa_path`.

The target is a few seconds for 10,000 grids. The anchor is the bare shapely work that any such
QA has to do on the same polygons: read them with pyogrio, dissolve them (`shapely.union_all`,
where gaps show up as holes) and self-join them through an STRtree (where overlaps show up). Ours
does more on top (decoding and checking the attributes, codes, validity, intersection areas,
sliver filtering, nesting), so the ratio says what that costs.
"""

from __future__ import annotations

from pathlib import Path

import pyogrio
import shapely
from sqlalchemy.orm import Session

from bench.databases import throwaway_database
from bench.measure import Benchmark, Result, Run, log
from bench.synthetic import CRS, GridLayout, grid_shapefile
from gis.db import make_engine, session_scope
from grid.districts import add_district
from grid.inspect import qa_path
from grid.qa import QaReport


def measure(run: Run) -> Result:
    layout = GridLayout.scaled(run.scale)
    path = grid_shapefile(layout)
    reports: list[QaReport] = []
    with throwaway_database("grid_qa") as url:
        engine = make_engine(url)
        try:
            with session_scope(engine) as session:
                add_district(session, layout.district, name="宣州区", scheme="legacy", crs=CRS)

            def ours() -> None:
                with Session(engine) as session:
                    reports.append(qa_path(session, layout.district, path))

            # One round of warm-up: the first QA in a process builds pyproj transformers and
            # parses the field specs, which a server or a batch of files pays only once.
            timings = run.compare(ours, lambda: bare_qa(path), warmup=1)
        finally:
            engine.dispose()
    report = reports[-1]
    log(f"  grid_qa: {report.summary()}")
    return Result(size=f"{layout.grids:,} grids", timings=timings, notes=[report.summary()])


def bare_qa(path: Path) -> None:
    """The anchor: the geometric core of a grid QA, with nothing around it."""
    geoms = pyogrio.read_dataframe(path, use_arrow=True).geometry.to_numpy()
    shapely.union_all(geoms)
    shapely.STRtree(geoms).query(geoms, predicate="intersects")


BENCHMARK = Benchmark(
    name="grid_qa",
    ours="grid.inspect.qa_path on the grid shapefile",
    anchor="pyogrio read + shapely.union_all + STRtree intersects self-join",
    measure=measure,
)
