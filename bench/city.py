"""A city-scale database for the lookup and tile benchmarks: one district (宣州区) with the grid
benchmarks' 10,000 grids and the census benchmark's 1,000,000 components (× --scale), both from
the files cached in bench/.work/, loaded through the public importers (`grid.importer.
import_grids`, `census.importer.import_components`) into a throwaway database. Loading is
untimed setup.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bench.databases import throwaway_database
from bench.measure import MeasurementFailed, log, seconds
from bench.synthetic import CRS, GridLayout, census_shapefile, grid_shapefile
from census.importer import ComponentImportOptions, import_components
from gis.db import make_engine, session_scope
from grid.districts import add_district
from grid.importer import import_grids
from lookup.index import LookupIndex

COMPONENTS = 1_000_000          # at scale 1, as bench/census_import.py
LOOKUP_CLASS = "0101"           # 上水井盖: 12 % of the census, a component within 30 m of ~97 %


@dataclass(frozen=True)
class City:
    url: str                    # the throwaway database, as its owner
    layout: GridLayout
    components: int

    @property
    def size(self) -> str:
        return f"{self.layout.grids:,} grids, {self.components:,} components"


def census_size(scale: float, components: int = COMPONENTS) -> int:
    return max(1, round(components * scale))


@contextmanager
def city_database(label: str, scale: float, components: int = COMPONENTS) -> Iterator[City]:
    """A throwaway database holding the district, its grids and its census (`components` × scale
    of them); dropped at the end."""
    layout = GridLayout.scaled(scale)
    n = census_size(scale, components)
    grids_path = grid_shapefile(layout)
    log(f"  {label}: making (or reusing) the {n:,}-component census file")
    census_path = census_shapefile(layout, n)
    with throwaway_database(label) as url:
        engine = make_engine(url)
        try:
            with session_scope(engine) as session:
                add_district(session, layout.district, name="宣州区", scheme="legacy", crs=CRS)
            started = time.perf_counter()
            with Session(engine) as session:
                grid_report, _ = import_grids(session, grids_path, layout.district)
                session.commit()
            if grid_report.imported != layout.grids:
                raise MeasurementFailed(f"the grids did not import: {grid_report.summary()}")
            load_census(engine, census_path, layout.district, n)
            with engine.begin() as conn:
                # what autovacuum would do after a load; tile and reference queries plan on it
                conn.execute(sa.text("ANALYZE"))
            log(f"  {label}: {layout.grids:,} grids and {n:,} components loaded in "
                f"{seconds(time.perf_counter() - started)} (untimed setup)")
        finally:
            engine.dispose()
        yield City(url, layout, n)


def load_census(engine: Engine, path: Path, district: str, n: int) -> None:
    """The census, through the public importer (a district's first census: a new partition)."""
    with Session(engine) as session:
        report = import_components(session, path, district, ComponentImportOptions())
        session.commit()
    if report.imported != n:
        raise MeasurementFailed(f"the census did not import: {report.summary()}")


def load_index(city: City, label: str) -> LookupIndex:
    """The lookup index of the city as the server holds it; the engine is closed afterwards
    (lookups never touch the database)."""
    engine = make_engine(city.url)
    try:
        started = time.perf_counter()
        index = LookupIndex(engine).load()
        log(f"  {label}: index loaded in {seconds(time.perf_counter() - started)}")
    finally:
        engine.dispose()
    return index
