"""The demo: the sample city (two counties of 宣城市) registered and loaded, idempotently."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import Engine

from cases.rules import import_rules
from census.importer import import_components
from gis.db import session_scope
from grid.districts import add_district
from grid.hierarchy import import_boundaries
from grid.importer import import_grids

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"

# (code, name, scheme, folder) of each sample county
COUNTIES = (
    ("341802", "宣州区", "legacy", "341802_xuanzhou"),
    ("341881", "宁国市", "gb47678", "341881_ningguo"),
)


def load_samples(engine: Engine, folder: Path | None = None,
                 echo: Callable[[str], None] = print) -> None:
    base = folder or SAMPLES
    for code, name, scheme, sub in COUNTIES:
        with session_scope(engine) as s:
            add_district(s, code, name=name, scheme=scheme, crs="EPSG:4549")
            communities = base / sub / "社区边界.shp"
            if communities.exists():
                report = import_boundaries(s, communities, code, "community")
                echo(report.summary())
            grid_report, _ = import_grids(s, base / sub / "单元网格.shp", code)
            echo(grid_report.summary())
            if grid_report.status != "ok":
                raise RuntimeError(f"sample grids of {code} failed QA")
        for census_file in sorted((base / sub).glob("*部件*.shp")):
            with session_scope(engine) as s:
                echo(import_components(s, census_file, code).summary())
        for rules_file in (base / sub / "权责清单.csv", base / sub / "责任区域.shp"):
            if rules_file.exists():
                with session_scope(engine) as s:
                    echo(import_rules(s, rules_file, code).summary())
